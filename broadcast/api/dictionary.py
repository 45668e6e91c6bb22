"""The commune dictionary and the reading preview: how the station will read a text."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from broadcast.bulletins import dictionary
from broadcast.http.deps import AddressDep, StationDep, UserDep
from broadcast.tts import normalize_text, unknown_abbreviations

router = APIRouter(prefix="/api", tags=["reading"])


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reading: str = Field(description="Cách đọc đầy đủ, ví dụ: hợp tác xã")


class EntryOut(BaseModel):
    term: str
    reading: str
    updated_by: str


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=100_000)


class PreviewOut(BaseModel):
    spoken_text: str
    unknown_abbreviations: list[str]


@router.get("/dictionary")
def list_entries(station: StationDep, user: UserDep) -> list[EntryOut]:
    with station.db.session() as session:
        return [
            EntryOut(term=e.term, reading=e.reading, updated_by=e.updated_by)
            for e in dictionary.list_entries(session)
        ]


@router.put("/dictionary/{term}")
def set_entry(term: str, body: EntryIn, station: StationDep, user: UserDep, address: AddressDep) -> EntryOut:
    """Add or change how this commune reads an abbreviation; the next synthesis uses it."""
    with station.db.session() as session:
        entry = dictionary.set_entry(session, user.name, term, body.reading, address)
        return EntryOut(term=entry.term, reading=entry.reading, updated_by=entry.updated_by)


@router.delete("/dictionary/{term}", status_code=status.HTTP_204_NO_CONTENT)
def delete_entry(term: str, station: StationDep, user: UserDep, address: AddressDep) -> None:
    with station.db.session() as session:
        dictionary.delete_entry(session, user.name, term, address)


@router.post("/normalize")
def preview(body: PreviewIn, station: StationDep, user: UserDep) -> PreviewOut:
    """Return what the machine will read and which abbreviations it would spell letter by letter."""
    with station.db.session() as session:
        extra = dictionary.commune_dictionary(session)
    return PreviewOut(
        spoken_text=normalize_text(body.text, extra),
        unknown_abbreviations=unknown_abbreviations(body.text, extra),
    )
