"""Import many bulletins at once from a .csv (title, text, zones) or a .txt (blocks split by blank lines).

The whole file is checked before anything is read aloud; the bulletins are then read one by one (the job's
progress, no transaction open) and stored together in one transaction: an import adds every bulletin or none.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.bulletins import dictionary
from broadcast.bulletins.history import Action, record
from broadcast.bulletins.workflow import BulletinDraft, add_draft, read_aloud, validate_draft
from broadcast.clipstore.rendering import RenderedBulletin
from broadcast.clipstore.store import ClipStorage
from broadcast.config import InputLimits, SpeechSettings
from broadcast.jobs import Reporter
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.db import Database

MAX_ERRORS_SHOWN = 10
TITLE_FROM_TEXT_CHARS = 60
_ZONE_SPLIT = re.compile(r"[\s,;]+")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
# Column names accepted in the CSV header (officers' spreadsheets are often in Vietnamese).
COLUMNS = {
    "title": ("title", "tiêu đề", "tieu de"),
    "text": ("text", "nội dung", "noi dung"),
    "zones": ("zones", "vùng", "vung", "cụm loa", "cum loa"),
    "priority": ("priority", "mức", "muc", "mức ưu tiên", "muc uu tien"),
}


@dataclass(frozen=True)
class ImportRow:
    """One bulletin of the file and where it started (line number, for messages)."""

    line: int
    draft: BulletinDraft


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise domain.Invalid(
            "Tệp không phải văn bản UTF-8. Khi lưu từ Excel hoặc Word, hãy chọn «CSV UTF-8» hoặc «UTF-8»."
        ) from exc


def _title_from(text: str) -> str:
    if len(text) <= TITLE_FROM_TEXT_CHARS:
        return text
    return text[:TITLE_FROM_TEXT_CHARS].rsplit(" ", 1)[0] + "…"


def parse_txt(text: str, zones: list[str], priority: str) -> list[ImportRow]:
    """Return one bulletin per block: its first line is the title if more lines follow."""
    rows: list[ImportRow] = []
    line = 1
    for block in _BLANK_LINES.split(text):
        lines = [part.strip() for part in block.split("\n")]
        content = [part for part in lines if part]
        if content:
            first = line + next(i for i, part in enumerate(lines) if part)
            title, body = (content[0], "\n".join(content[1:])) if len(content) > 1 else ("", content[0])
            draft = BulletinDraft(title or _title_from(body), body, priority, zones)
            rows.append(ImportRow(first, draft))
        line += block.count("\n") + 2
    return rows


def _column(header: list[str], name: str) -> int | None:
    folded = [h.strip().lower() for h in header]
    for alias in COLUMNS[name]:
        if alias in folded:
            return folded.index(alias)
    return None


def parse_csv(text: str, zones: list[str], priority: str) -> list[ImportRow]:
    """Return one bulletin per row under a header naming at least the title and text columns."""
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return []
    where = {name: _column(header, name) for name in COLUMNS}
    if where["title"] is None or where["text"] is None:
        raise domain.Invalid(
            "Dòng đầu của tệp CSV phải có tên cột: title, text (và zones, priority nếu cần) "
            "— hoặc: tiêu đề, nội dung, vùng, mức."
        )
    rows: list[ImportRow] = []
    for record_ in reader:
        if not any(cell.strip() for cell in record_):
            continue

        def cell(name: str, fields: list[str] = record_) -> str:
            index = where[name]
            return fields[index].strip() if index is not None and index < len(fields) else ""

        row_zones = [z for z in _ZONE_SPLIT.split(cell("zones")) if z] or zones
        title = cell("title") or _title_from(cell("text"))
        draft = BulletinDraft(title, cell("text"), cell("priority") or priority, row_zones)
        rows.append(ImportRow(reader.line_num, draft))
    return rows


def parse_import(
    session: Session,
    user: Principal,
    speech: SpeechSettings,
    limits: InputLimits,
    filename: str,
    data: bytes,
    zones: list[str],
    priority: str,
) -> list[ImportRow]:
    """Return every bulletin of the file, checked; raise Invalid naming each bad line (nothing is kept)."""
    if not data:
        raise domain.Invalid("Chưa chọn tệp, hoặc tệp rỗng.")
    if len(data) > limits.import_max_bytes:
        raise domain.Invalid(f"Tệp quá lớn (tối đa {limits.import_max_bytes // 1000} kB).")
    extension = filename.rpartition(".")[2].lower()
    if extension not in ("csv", "txt"):
        raise domain.Invalid(
            "Chỉ nhận tệp .csv (cột title, text, zones) hoặc .txt (các bản tin cách nhau một dòng trống)."
        )
    parse = parse_csv if extension == "csv" else parse_txt
    rows = parse(_decode(data), zones, priority)
    if not rows:
        raise domain.Invalid("Tệp không có bản tin nào.")
    if len(rows) > limits.import_max_bulletins:
        raise domain.Invalid(
            f"Tệp có {len(rows)} bản tin, mỗi lần chỉ nhập tối đa {limits.import_max_bulletins}."
        )
    errors: list[str] = []
    checked: list[ImportRow] = []
    for row in rows:
        try:
            clean = validate_draft(session, row.draft, speech, limits)
            tenancy.scope_zones(session, user, clean.zones)
        except domain.DomainError as exc:
            errors.append(f"Dòng {row.line}: {exc}")
            continue
        checked.append(ImportRow(row.line, clean))
    if errors:
        more = f" (và {len(errors) - MAX_ERRORS_SHOWN} lỗi khác)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise domain.Invalid(
            "Tệp có lỗi, chưa nhập bản tin nào. " + " ".join(errors[:MAX_ERRORS_SHOWN]) + more
        )
    return checked


def run_import(
    db: Database,
    clips: ClipStorage,
    speech: SpeechSettings,
    author: Principal,
    rows: list[ImportRow],
    filename: str,
    address: str,
    report: Reporter,
) -> list[int]:
    """Read every bulletin aloud (one progress step each), then store them all; return their ids."""
    with db.session() as session:
        extra = dictionary.commune_dictionary(session)
    total = len(rows) + 1  # the last step stores them
    rendered: list[RenderedBulletin] = []
    for index, row in enumerate(rows):
        report.update(index, total, f"Đang đọc bản tin {index + 1}/{len(rows)}: «{row.draft.title}»…")
        assert row.draft.engine is not None  # validate_draft names the engine
        rendered.append(read_aloud(speech, row.draft.text, row.draft.engine, row.draft.voice, extra))
    report.update(len(rows), total, "Đang lưu các bản tin…", force=True)
    ids: list[int] = []
    with db.session() as session:
        for row, read in zip(rows, rendered, strict=True):
            bulletin = add_draft(session, clips, author, row.draft, read)
            record(session, bulletin.id, author.name, Action.IMPORTED, filename=filename, line=row.line)
            ids.append(bulletin.id)
        audit.record(
            session, author.name, "bulletin.import", "bulletins", address, filename=filename, ids=ids
        )
    return ids
