"""The commune's own abbreviation dictionary: how this commune reads its local acronyms."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.people import audit
from broadcast.storage.models import Abbreviation

# An abbreviation as written: letters (Vietnamese too), digits, '&', '-', '.'; starts with a letter.
_TERM = re.compile(r"^[^\W\d_][\w&.-]{0,31}$")
_READING = re.compile(r"^[^\W\d_][^\W\d_\s,.-]*(?:[ ,.-]+[^\W\d_]+)*[.,]?$")


def check_entry(term: str, reading: str) -> tuple[str, str]:
    """Return the cleaned (term, reading) or raise Invalid with a message the officer can act on."""
    term = domain.clean_text(term, field="Từ viết tắt", max_chars=32)
    reading = " ".join(domain.clean_text(reading, field="Cách đọc", max_chars=200).split())
    if not _TERM.fullmatch(term) or not any(ch.isupper() for ch in term):
        raise domain.Invalid(f"Từ viết tắt không hợp lệ: {term!r} (ví dụ: HTX, KDC, TT&TT).")
    if not _READING.fullmatch(reading):
        raise domain.Invalid("Cách đọc chỉ gồm chữ, viết đầy đủ (không dùng số hay ký hiệu).")
    return term, reading


def commune_dictionary(session: Session) -> dict[str, str]:
    """Return every entry as term -> reading, for the normaliser."""
    return {a.term: a.reading for a in session.scalars(select(Abbreviation))}


def list_entries(session: Session) -> list[Abbreviation]:
    return list(session.scalars(select(Abbreviation).order_by(Abbreviation.term)))


def set_entry(session: Session, actor: str, term: str, reading: str, address: str) -> Abbreviation:
    """Add or change an entry; the next synthesis reads the term this way."""
    term, reading = check_entry(term, reading)
    entry = session.get(Abbreviation, term)
    if entry is None:
        entry = Abbreviation(term=term, reading=reading, updated_by=actor)
        session.add(entry)
    else:
        entry.reading = reading
        entry.updated_by = actor
        entry.updated_at = datetime.now(UTC)
    audit.record(session, actor, "dictionary.set", f"abbr:{term}", address, reading=reading)
    return entry


def delete_entry(session: Session, actor: str, term: str, address: str) -> None:
    entry = session.get(Abbreviation, term)
    if entry is None:
        raise domain.NotFound(f"Không có từ viết tắt {term!r} trong từ điển của xã.")
    session.delete(entry)
    audit.record(session, actor, "dictionary.delete", f"abbr:{term}", address)
