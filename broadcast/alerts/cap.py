"""OASIS Common Alerting Protocol 1.2: read a CAP message into an alert request, write our alerts as CAP.

Pure functions over text. XML from outside is parsed with defusedxml (no entity bombs, no external DTDs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

NS = "urn:oasis:names:tc:emergency:cap:1.2"
_Q = f"{{{NS}}}"
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
MAX_CAP_BYTES = 256 * 1024


class CapError(ValueError):
    """The CAP message cannot become an alert; the text (Vietnamese) says why."""


@dataclass(frozen=True)
class CapArea:
    description: str
    geocodes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CapMessage:
    """The parts of a CAP alert the station acts on."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    references: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    description: str
    instruction: str
    expires: datetime | None
    areas: tuple[CapArea, ...]

    @property
    def spoken_text(self) -> str:
        """Return what the loudspeakers read: headline, description, instruction."""
        headline, description = self.headline.strip(), self.description.strip()
        if headline and description.startswith(headline):
            headline = ""  # our own exports repeat the first line as the headline
        parts = [p for p in (headline, description, self.instruction.strip()) if p]
        return "\n".join(parts)

    def zone_ids(self) -> list[str]:
        """Return candidate zone ids: geocodes named "zone", else the area descriptions."""
        found: list[str] = []
        for area in self.areas:
            values = [v for k, v in area.geocodes.items() if k.lower() in ("zone", "loa-zone")]
            for value in values or [area.description]:
                for zone in (z.strip() for z in value.replace(";", ",").split(",")):
                    if zone and zone not in found:
                        found.append(zone)
        return found


def _text(parent: Element, name: str, *, required: bool = False) -> str:
    node = parent.find(_Q + name)
    value = (node.text or "").strip() if node is not None else ""
    if required and not value:
        raise CapError(f"Thiếu trường bắt buộc <{name}> trong bản tin CAP.")
    return value


def _time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CapError(f"Trường <{name}> không phải thời điểm hợp lệ: {value!r}.") from exc
    if moment.utcoffset() is None:
        raise CapError(f"Trường <{name}> phải có múi giờ (ví dụ 2026-11-21T10:00:00+07:00).")
    return moment.astimezone(UTC)


def _one_of(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise CapError(f"<{name}> = {value!r} không hợp lệ; giá trị cho phép: {', '.join(allowed)}.")
    return value


def parse_cap(xml: bytes) -> CapMessage:
    """Parse and validate a CAP 1.2 message (the first <info> block is used)."""
    if len(xml) > MAX_CAP_BYTES:
        raise CapError("Bản tin CAP quá lớn.")
    try:
        root = SafeET.fromstring(xml)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise CapError(f"Không đọc được XML của bản tin CAP: {exc}") from exc
    if root.tag != _Q + "alert":
        raise CapError(
            "Không phải bản tin CAP 1.2 (cần thẻ <alert> thuộc urn:oasis:names:tc:emergency:cap:1.2)."
        )
    msg_type = _one_of(_text(root, "msgType", required=True), MSG_TYPES, "msgType")
    info = root.find(_Q + "info")
    if info is None and msg_type != "Cancel":
        raise CapError("Bản tin CAP không có khối <info>.")
    references = tuple(_text(root, "references").split())
    areas: list[CapArea] = []
    expires_text = _text(info, "expires") if info is not None else ""
    if info is not None:
        for area in info.findall(_Q + "area"):
            codes = {_text(code, "valueName"): _text(code, "value") for code in area.findall(_Q + "geocode")}
            areas.append(CapArea(_text(area, "areaDesc", required=True), codes))
    return CapMessage(
        identifier=_text(root, "identifier", required=True),
        sender=_text(root, "sender", required=True),
        sent=_time(_text(root, "sent", required=True), "sent"),
        status=_one_of(_text(root, "status", required=True), STATUSES, "status"),
        msg_type=msg_type,
        references=references,
        event=_text(info, "event") if info is not None else "",
        urgency=_one_of(_text(info, "urgency", required=True), URGENCIES, "urgency")
        if info is not None
        else "",
        severity=_one_of(_text(info, "severity", required=True), SEVERITIES, "severity")
        if info is not None
        else "",
        certainty=_text(info, "certainty") if info is not None else "",
        headline=_text(info, "headline") if info is not None else "",
        description=_text(info, "description") if info is not None else "",
        instruction=_text(info, "instruction") if info is not None else "",
        expires=_time(expires_text, "expires") if expires_text else None,
        areas=tuple(areas),
    )


@dataclass(frozen=True)
class CapExport:
    """What we publish about one of our alerts."""

    identifier: str
    sender: str
    sent: datetime
    msg_type: str  # Alert | Cancel
    text: str
    zones: tuple[str, ...]
    expires: datetime
    references: tuple[str, ...] = ()
    event: str = "Cảnh báo khẩn cấp"
    test: bool = False  # a drill: CAP status "Exercise", never "Actual"


def to_cap(alert: CapExport) -> bytes:
    """Return a CAP 1.2 document for one of our alerts."""
    root = Element("alert", {"xmlns": NS})
    for name, value in (
        ("identifier", alert.identifier),
        ("sender", alert.sender),
        ("sent", alert.sent.isoformat(timespec="seconds")),
        ("status", "Exercise" if alert.test else "Actual"),
        ("msgType", alert.msg_type),
        ("scope", "Public"),
    ):
        SubElement(root, name).text = value
    if alert.references:
        SubElement(root, "references").text = " ".join(alert.references)
    info = SubElement(root, "info")
    for name, value in (
        ("language", "vi-VN"),
        ("category", "Safety"),
        ("event", alert.event),
        ("urgency", "Immediate"),
        ("severity", "Severe"),
        ("certainty", "Observed"),
        ("expires", alert.expires.isoformat(timespec="seconds")),
        ("headline", alert.text.splitlines()[0][:160] if alert.text else alert.event),
        ("description", alert.text),
    ):
        SubElement(info, name).text = value
    for zone in alert.zones:
        area = SubElement(info, "area")
        SubElement(area, "areaDesc").text = zone
        code = SubElement(area, "geocode")
        SubElement(code, "valueName").text = "zone"
        SubElement(code, "value").text = zone
    body: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
