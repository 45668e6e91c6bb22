"""The one re-render-with-errors helper of the web pages (broadcast/web/forms.py)."""

from __future__ import annotations

import pytest
from fastapi.responses import Response

from broadcast import domain
from broadcast.tts import TtsError
from broadcast.web.forms import SPEECH, Refusals, file_lost, shown_again
from broadcast.web.pages import PageRefused


def _render(*, error: str, code: int) -> Response:
    return Response(error, status_code=code)


def _answer(
    raised: Exception,
    catch: Refusals = domain.DomainError,
    code: int | None = None,
    prefix: str = "",
    note: str = "",
) -> tuple[str, int, BaseException | None]:
    """Raise in a wrapped block; return the page's body and status, and what it was caused by."""
    try:
        with shown_again(_render, catch, code, prefix) as refusal:
            refusal.note = note
            raise raised
    except PageRefused as refused:
        return bytes(refused.response.body).decode(), refused.response.status_code, refused.__cause__
    raise AssertionError("unreachable: the block always raises")


@pytest.mark.parametrize(
    ("raised", "catch", "code", "prefix", "body", "status"),
    [
        (domain.Invalid("Sai."), domain.DomainError, None, "", "Sai.", 422),
        (domain.NotFound("Không có."), domain.NotFound, None, "", "Không có.", 404),
        (
            domain.Forbidden("Không được."),
            domain.DomainError,
            422,
            "",
            "Không được.",
            422,
        ),  # one status for all
        (
            domain.Conflict("Đã duyệt."),
            domain.DomainError,
            None,
            "Bản tin số 7: ",
            "Bản tin số 7: Đã duyệt.",
            409,
        ),
        (
            TtsError("Không đọc được."),
            SPEECH,
            None,
            "",
            "Không đọc được.",
            422,
        ),  # speech fails as unprocessable
    ],
)
def test_a_refusal_comes_back_as_the_page_with_its_message_and_status(
    raised: Exception, catch: Refusals, code: int | None, prefix: str, body: str, status: int
) -> None:
    assert _answer(raised, catch, code, prefix) == (body, status, raised)


def test_the_note_set_in_the_block_follows_the_message() -> None:
    body, status, _ = _answer(domain.Invalid("Tệp quá dài."), note=file_lost("ban-tin.mp3"))
    assert (body, status) == ("Tệp quá dài. Trình duyệt không giữ tệp đã chọn: hãy chọn lại tệp ghi âm.", 422)
    assert file_lost("") == ""  # no file was read: nothing to choose again


@pytest.mark.parametrize(
    ("raised", "catch"),
    [(TtsError("x"), domain.DomainError), (domain.NotFound("x"), domain.Conflict), (ValueError("x"), SPEECH)],
)
def test_what_the_handler_does_not_catch_goes_on(raised: Exception, catch: Refusals) -> None:
    with pytest.raises(type(raised)):
        _answer(raised, catch)


def test_nothing_raised_renders_nothing() -> None:
    rendered: list[str] = []

    def render(*, error: str, code: int) -> Response:
        rendered.append(error)
        return Response()

    with shown_again(render):
        pass
    assert rendered == []
