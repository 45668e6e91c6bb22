"""Property-based tests: hostile input never crashes the normaliser or the message parsers."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast import protocol
from broadcast.tts import normalize_text, unknown_abbreviations

VIETNAMESE = st.text(
    alphabet=st.sampled_from(
        list("aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")
        + list("AĂÂĐÊÔƠƯUBNDHTXQ0123456789 .,:;/-–%()&@{}<>\n\t\u00a0\u200b\ufeff")
    ),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(VIETNAMESE)
def test_the_normaliser_never_crashes_and_leaves_no_digits(text: str) -> None:
    spoken = normalize_text(text)
    assert not any(ch.isdigit() for ch in spoken)
    assert isinstance(unknown_abbreviations(text), list)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_unicode_is_handled(text: str) -> None:
    normalize_text(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
COMMAND_KEYS = [
    "v",
    "kind",
    "id",
    "seq",
    "issued_at",
    "expires_at",
    "start_at",
    "zones",
    "clip",
    "priority",
    "url",
    "duration_s",
    "level",
    "repeat",
    "interval_s",
    "target",
    "alert_id",
    "entries",
    "version",
]


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(COMMAND_KEYS), JSON_VALUES, max_size=12), st.sampled_from(
    ["play", "stream", "volume", "test_tone", "alert", "cancel", "programme", "nope"]))  # fmt: skip
def test_command_parsers_only_raise_protocol_errors(body: dict[str, object], kind: str) -> None:
    candidate = {**body, "v": 1, "kind": kind}
    with contextlib.suppress(protocol.ProtocolError):
        if kind == "programme":
            protocol.parse_programme(candidate)
        else:
            protocol.parse_command(candidate)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_agent_messages_and_signatures_only_raise_protocol_errors(raw: bytes) -> None:
    for parse in (
        lambda: protocol.parse_agent_message(raw, "loa-1"),
        lambda: protocol.verify_message(raw, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    ):
        with contextlib.suppress(protocol.ProtocolError):
            parse()
