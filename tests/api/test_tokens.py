"""Sessions and API tokens are revocable (API, web, CLI) and a revoked one answers 401 at once; passwords."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from broadcast import cli, domain
from broadcast.cli import quickstart
from broadcast.config import Settings
from broadcast.people import accounts
from broadcast.storage.db import Database
from broadcast.storage.models import AuditEntry, User
from tests.api.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
ADMIN_PASSWORD = "so-tay-cua-dai-xa"


def _admin(api: Api) -> dict[str, str]:
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri", "admin", ADMIN_PASSWORD)
        return {"Authorization": f"Bearer {accounts.issue_token(session, 'quantri')}"}


def _token(api: Api, name: str, lifetime: timedelta | None = None) -> dict[str, str]:
    with api.station.db.session() as session:
        return {"Authorization": f"Bearer {accounts.issue_token(session, name, 'api', lifetime)}"}


def _login(client: TestClient, name: str, password: str) -> str:
    """Log the client in and return the CSRF token of its new session."""
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = CSRF.search(client.get("/account").text)
    assert match
    return match.group(1)


def _works(api: Api, headers: dict[str, str]) -> bool:
    status = api.client.get("/api/bulletins", headers=headers).status_code
    assert status in (200, 401)
    return bool(status == 200)


def test_you_list_and_revoke_your_own_tokens_and_no_one_elses(api: Api) -> None:
    second = _token(api, "canbo")
    mine = api.client.get("/api/tokens", headers=api.editor).json()
    assert {t["user"] for t in mine} == {"canbo"} and len(mine) == 2
    assert [t["current"] for t in mine].count(True) == 1
    other = next(t for t in mine if not t["current"])

    assert api.client.delete(f"/api/tokens/{other['id']}", headers=api.editor).status_code == 204
    assert not _works(api, second)  # revoked: 401 on the very next request
    assert _works(api, api.editor)
    revoked = api.client.get("/api/tokens?include_inactive=true", headers=api.editor).json()
    assert next(t for t in revoked if t["id"] == other["id"])["state"] == "revoked"

    theirs = api.client.get("/api/tokens", headers=api.approver).json()[0]["id"]
    assert api.client.get("/api/tokens?owner=chutich", headers=api.editor).json() == []
    refused = api.client.delete(f"/api/tokens/{theirs}", headers=api.editor)
    assert refused.status_code == 404 and "Không có" in refused.json()["detail"]
    assert _works(api, api.approver)
    assert api.client.delete("/api/tokens?owner=chutich", headers=api.editor).status_code == 403


def test_an_admin_logs_anyone_out_everywhere(api: Api) -> None:
    admin = _admin(api)
    second = _token(api, "canbo")
    listed = api.client.get("/api/tokens?owner=canbo", headers=admin).json()
    assert len(listed) == 2
    answer = api.client.delete("/api/tokens?owner=canbo", headers=admin)
    assert answer.json() == {"revoked": 2}
    assert not _works(api, api.editor) and not _works(api, second)
    assert _works(api, admin) and _works(api, api.approver)
    with api.station.db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.logout_all")).one()
        assert (entry.actor, entry.target, entry.detail) == ("quantri", "user:canbo", {"revoked": 2})


def test_logging_yourself_out_everywhere_can_keep_this_token(api: Api) -> None:
    second = _token(api, "canbo")
    answer = api.client.delete("/api/tokens?keep_current=true", headers=api.editor)
    assert answer.json() == {"revoked": 1}
    assert _works(api, api.editor) and not _works(api, second)
    assert api.client.delete("/api/tokens", headers=api.editor).json() == {"revoked": 1}
    assert not _works(api, api.editor)


def test_an_expired_token_answers_401(api: Api) -> None:
    expired = _token(api, "canbo", lifetime=timedelta(seconds=-1))
    answer = api.client.get("/api/bulletins", headers=expired)
    assert answer.status_code == 401 and "đăng nhập" in answer.json()["detail"]


def test_changing_the_password_ends_every_other_session(api: Api, tmp_path: Path) -> None:
    other_browser = TestClient(api.client.app)
    _login(other_browser, "canbo", "mat-khau-bien-tap")
    csrf = _login(api.client, "canbo", "mat-khau-bien-tap")
    page = api.client.get("/account")
    assert "Đăng xuất khỏi mọi thiết bị" in page.text and "(trình duyệt này)" in page.text

    wrong = {"csrf_token": csrf, "current": "sai-mat-khau-roi", "new": "dong-lua-chin-vang", "confirm": "x"}
    assert api.client.post("/account/password", data=wrong).status_code == 422  # confirmation differs
    wrong["confirm"] = wrong["new"]
    assert api.client.post("/account/password", data=wrong).status_code == 403
    weak = {**wrong, "current": "mat-khau-bien-tap", "new": "matkhau123", "confirm": "matkhau123"}
    refused = api.client.post("/account/password", data=weak)
    assert refused.status_code == 422 and "phổ biến" in refused.text
    assert other_browser.get("/account", follow_redirects=False).status_code == 200  # nothing changed yet

    good = {**weak, "new": "dong-lua-chin-vang", "confirm": "dong-lua-chin-vang"}
    changed = api.client.post("/account/password", data=good)
    assert changed.status_code == 200 and "Đã đổi mật khẩu" in changed.text
    assert other_browser.get("/account", follow_redirects=False).headers["location"] == "/login"
    assert not _works(api, api.editor)  # API tokens too
    assert api.client.get("/account", follow_redirects=False).status_code == 200  # this browser stays in
    with api.station.db.session() as session:
        assert accounts.authenticate(session, "canbo", "dong-lua-chin-vang") is not None
        assert accounts.authenticate(session, "canbo", "mat-khau-bien-tap") is None


def test_log_out_everywhere_from_the_account_page(api: Api) -> None:
    csrf = _login(api.client, "canbo", "mat-khau-bien-tap")
    out = api.client.post("/account/logout-all", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.headers["location"] == "/login"
    assert api.client.get("/account", follow_redirects=False).headers["location"] == "/login"
    assert not _works(api, api.editor)
    forged = api.client.post("/account/logout-all", data={"csrf_token": "0" * 64}, follow_redirects=False)
    assert forged.headers["location"] == "/login"  # no session: nothing to do, nothing done


def test_the_cli_lists_revokes_logs_out_and_disables(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = api.station.settings
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BROADCAST_DATABASE_URL", settings.database)
    second = _token(api, "canbo")

    assert cli.main(["token", "list", "--user", "canbo"]) == 0
    ids = [int(line.split()[0]) for line in capsys.readouterr().out.splitlines()[1:]]
    assert len(ids) == 2
    assert cli.main(["token", "revoke", str(max(ids))]) == 0
    assert "Đã thu hồi" in capsys.readouterr().out
    assert not _works(api, second) and _works(api, api.editor)
    assert cli.main(["token", "revoke", "999999"]) == 2
    assert "Không có mã truy cập" in capsys.readouterr().err

    assert cli.main(["user", "logout", "canbo"]) == 0
    assert not _works(api, api.editor)

    assert cli.main(["user", "disable", "chutich"]) == 0
    assert not _works(api, api.approver)
    assert (
        api.client.post("/login", data={"name": "chutich", "password": "mat-khau-duyet-tin"}).status_code
        == 401
    )
    with api.station.db.session() as session, pytest.raises(domain.NotFound):
        accounts.issue_token(session, "chutich")  # a disabled account gets no new token either
    assert cli.main(["user", "enable", "chutich"]) == 0
    login = api.client.post("/login", data={"name": "chutich", "password": "mat-khau-duyet-tin"})
    assert login.status_code == 200
    with api.station.db.session() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.address == "cli")))
    assert {"token.revoke", "user.logout_all", "user.disable", "user.enable"} <= set(actions)


@pytest.mark.parametrize(
    ("password", "name", "reason"),
    [
        ("ngan-qua", "", "ít nhất 10"),
        ("matkhau123", "", "phổ biến"),
        ("Mật khẩu 123!", "", "phổ biến"),  # folded: no diacritics, no spaces or punctuation
        ("1234567890", "", "phổ biến"),
        ("123456789", "", "ít nhất 10"),
        ("P@ssw0rd2024", "", "phổ biến"),
        ("anhyeuem2025", "", "phổ biến"),
        ("qwertyuiop", "", "phổ biến"),
        ("aaaaaaaaaaaaaa", "", "đơn giản"),
        ("canbo-xa-dong-hai", "canbo", "tên đăng nhập"),
        ("x" * 300, "", "quá dài"),
        ("mat-khau\x00-co-nul", "", "điều khiển"),
    ],
)
def test_weak_passwords_are_refused_in_vietnamese(password: str, name: str, reason: str) -> None:
    with pytest.raises(domain.Invalid, match=reason):
        domain.check_password_strength(password, name)


@pytest.mark.parametrize("password", ["dong-lua-chin-vang", "mat-khau-bien-tap", "Ngõ 5 nhà số 12!"])
def test_good_passwords_pass(password: str) -> None:
    assert domain.check_password_strength(password, "canbo") == password


def test_no_account_has_a_default_password(api: Api) -> None:
    with api.station.db.session() as session:
        names = set(session.scalars(select(User.name)))
        assert names == {"canbo", "chutich"}  # only the accounts the test created: none built in
        for name in ("admin", "root", "quantri"):
            for guess in ("admin", "admin123", "matkhau123", "123456789"):
                assert accounts.authenticate(session, name, guess) is None


def test_quickstart_makes_one_admin_with_a_random_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(quickstart, "_load_samples", lambda *_: None)  # reading samples aloud is slow
    passwords = []
    for run in ("a", "b"):
        settings = Settings(data_dir=tmp_path / run, public_url="http://127.0.0.1:1")
        quickstart.first_run_setup(settings)
        printed = re.search(r"admin / (\S+)", capsys.readouterr().out)
        assert printed
        passwords.append(printed.group(1))
        note = settings.secrets_dir / "first-admin.txt"
        assert note.read_text() == f"admin {printed.group(1)}\n"
        assert note.stat().st_mode & 0o077 == 0  # readable by the station's user only
        quickstart.first_run_setup(settings)  # a second start creates no second admin
        assert "admin /" not in capsys.readouterr().out
        db = Database(settings.database)
        with db.session() as session:
            assert list(session.scalars(select(User.name))) == ["admin"]
            assert accounts.authenticate(session, "admin", printed.group(1)) is not None
        db.dispose()
    assert passwords[0] != passwords[1]
    for password in passwords:
        domain.check_password_strength(password, "admin")


def test_a_commune_admin_reaches_only_their_communes_accounts(api: Api) -> None:
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri-xa", "admin", ADMIN_PASSWORD, commune="default")
        accounts.add_user(session, "canbo-xa", "editor", "mat-khau-bien-tap", commune="default")
        commune_admin = {"Authorization": f"Bearer {accounts.issue_token(session, 'quantri-xa')}"}
    local = _token(api, "canbo-xa")
    seen = {t["user"] for t in api.client.get("/api/tokens", headers=commune_admin).json()}
    assert seen == {"quantri-xa", "canbo-xa"}  # not the province accounts canbo and chutich
    province_token = api.client.get("/api/tokens", headers=api.editor).json()[0]["id"]
    assert api.client.delete(f"/api/tokens/{province_token}", headers=commune_admin).status_code == 404
    assert api.client.delete("/api/tokens?owner=canbo", headers=commune_admin).status_code == 403
    assert api.client.delete("/api/tokens?owner=canbo-xa", headers=commune_admin).json() == {"revoked": 1}
    assert not _works(api, local) and _works(api, api.editor)
