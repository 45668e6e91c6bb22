"""Uploaded files read with a size limit: the one place a route reads an UploadFile."""

from __future__ import annotations

from fastapi import UploadFile

from broadcast import domain
from broadcast.bulletins import uploads


def read_file(file: UploadFile | None, limit: int) -> tuple[str, bytes]:
    """Return (file name, bytes) of an upload, refusing one over `limit` bytes before reading it all."""
    if file is None or not file.filename:
        return "", b""
    name = uploads.display_name(file.filename)
    if file.size is not None and file.size > limit:
        size, most = uploads.megabytes(file.size), uploads.megabytes(limit)
        raise domain.Invalid(f"Tệp «{name}» quá lớn ({size} MB, tối đa {most} MB).")
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise domain.Invalid(f"Tệp «{name}» quá lớn (tối đa {uploads.megabytes(limit)} MB).")
    return name, data
