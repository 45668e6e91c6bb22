"""The audit log in sentences: "canbo đã duyệt bản tin «Lịch tiêm chủng»", zones and communes by their names.

Entries keep the raw action ("bulletin.approve") and details for filters and the CSV; this turns them into
what an admin reads. Names are looked up once per page (`Names.load`); an action added later without a
sentence here still reads as Vietnamese ("… đã thực hiện một thao tác với bản tin «…»"), never its code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.people.names import commune_label
from broadcast.storage.models import Alert, AuditEntry, Bulletin, Commune, LiveSession, Slot, Zone

__all__ = ["ACTION_LABELS", "FAMILY_LABELS", "Names", "action_label", "sentence", "sentences", "short"]

FAMILY_LABELS = {
    "bulletin": "bản tin", "alert": "cảnh báo", "live": "phát trực tiếp", "slot": "lịch phát",
    "device": "cụm loa", "zone": "vùng", "commune": "xã", "user": "tài khoản", "token": "mã truy cập",
    "login": "đăng nhập", "logout": "đăng xuất", "dictionary": "từ điển cách đọc", "key": "khoá ký lệnh",
    "backup": "sao lưu",
}  # fmt: skip
ACTION_LABELS = {
    "login": "Đăng nhập", "login.failed": "Đăng nhập sai", "login.flood": "Đăng nhập sai quá nhiều",
    "logout": "Đăng xuất", "user.add": "Tạo tài khoản", "user.disable": "Khoá tài khoản",
    "user.enable": "Mở khoá tài khoản", "user.password": "Đổi mật khẩu",
    "user.password_reset": "Đặt lại mật khẩu", "user.reset_password": "Đặt lại mật khẩu",
    "user.logout_all": "Đăng xuất mọi phiên", "token.create": "Tạo mã truy cập",
    "token.revoke": "Thu hồi mã truy cập", "bulletin.create": "Soạn bản tin",
    "bulletin.edit": "Sửa bản tin", "bulletin.upload": "Tải lên bản ghi âm", "bulletin.submit": "Gửi duyệt",
    "bulletin.approve": "Duyệt bản tin", "bulletin.reject": "Trả lại bản tin",
    "bulletin.render": "Đọc lại bản tin", "bulletin.import": "Nhập bản tin từ tệp",
    "bulletin.schedule": "Xếp lịch phát", "dictionary.set": "Đặt cách đọc",
    "dictionary.delete": "Xoá cách đọc", "slot.create": "Tạo khung giờ phát",
    "slot.items": "Sửa khung giờ phát", "slot.delete": "Xoá khung giờ phát",
    "alert.raise": "Phát cảnh báo khẩn cấp", "alert.confirm": "Xác nhận cảnh báo",
    "alert.cancel": "Huỷ cảnh báo", "alert.correction_confirm": "Xác nhận lời đính chính",
    "live.start": "Bắt đầu phát trực tiếp", "live.stop": "Kết thúc phát trực tiếp",
    "device.add": "Thêm cụm loa", "device.replace": "Cấp lại cụm loa", "device.revoke": "Thu hồi cụm loa",
    "device.settings": "Đổi cài đặt cụm loa", "device.volume": "Đặt âm lượng",
    "device.test_tone": "Phát âm thử", "device.location": "Đặt vị trí cụm loa",
    "device.report_flood": "Cụm loa gửi báo cáo bất thường", "zone.add": "Thêm vùng",
    "zone.update": "Sửa vùng", "commune.add": "Thêm xã", "commune.quiet_hours": "Đặt giờ yên tĩnh",
    "key.rotate": "Thay khoá ký lệnh", "backup.run": "Sao lưu trạm", "backup.restore": "Khôi phục trạm",
}  # fmt: skip
_ACTORS = {"station": "Trạm", "quickstart": "Bước cài đặt ban đầu", "": "Một người chưa đăng nhập"}
_LIVE_ENDS = {"stopped": "người phát bấm dừng", "dropped": "mất kết nối với máy người phát",
              "too_long": "quá thời lượng tối đa", "engine": "máy chủ phát trực tiếp gặp lỗi",
              "shutdown": "trạm dừng hoạt động"}  # fmt: skip


def short(text: str, limit: int = 60) -> str:
    """Return text on one line, cut at a word boundary with "…" when longer than `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip(",.;:") + "…"


@dataclass
class Names:
    """Display names of what entries point at, looked up once for a page of entries."""

    bulletins: dict[int, str] = field(default_factory=dict)
    alerts: dict[int, str] = field(default_factory=dict)
    lives: dict[str, str] = field(default_factory=dict)
    slots: dict[int, str] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)
    communes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, entries: Iterable[AuditEntry]) -> Names:
        ids: dict[str, set[str]] = {}
        for e in entries:
            kind, _, key = e.target.partition(":")
            ids.setdefault(kind, set()).add(key)
        numbers = {k: {int(i) for i in v if i.isdigit()} for k, v in ids.items()}
        names = cls()
        if numbers.get("bulletin"):
            query = select(Bulletin.id, Bulletin.title).where(Bulletin.id.in_(numbers["bulletin"]))
            names.bulletins = {r.id: r.title for r in session.execute(query)}
        if numbers.get("alert"):
            found = session.execute(select(Alert.id, Alert.text).where(Alert.id.in_(numbers["alert"])))
            names.alerts = {r.id: short(r.text) for r in found}
        if ids.get("live"):
            lives = select(LiveSession.id, LiveSession.title).where(LiveSession.id.in_(ids["live"]))
            names.lives = {r.id: r.title for r in session.execute(lives)}
        if numbers.get("slot"):
            query = select(Slot.id, Slot.title).where(Slot.id.in_(numbers["slot"]))
            names.slots = {r.id: r.title for r in session.execute(query)}
        names.zones = {z.id: z.name or z.id for z in session.scalars(select(Zone))}
        names.communes = {c.id: c.name for c in session.scalars(select(Commune))}
        return names

    def zone_list(self, zones: object) -> str:
        if not isinstance(zones, list | tuple) or not zones:
            return "mọi vùng"
        return ", ".join(self.zones.get(str(z), str(z)) for z in zones)

    def commune(self, commune_id: object) -> str:
        if commune_id is None:
            return "cấp tỉnh"
        return commune_label(str(commune_id), self.communes.get(str(commune_id), ""))


Say = Callable[[str, str, Mapping[str, Any], Names], str]  # (actor, target key, detail, names) -> sentence


def _quoted(text: str) -> str:
    return f"«{text}»" if text else ""


def _bulletin(verb: str) -> Say:
    def say(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
        title = n.bulletins.get(int(key), "") if key.isdigit() else ""
        return f"{actor} đã {verb} bản tin {_quoted(title) or f'số {key}'}"

    return say


def _device(verb: str, tail: Callable[[Mapping[str, Any], Names], str] = lambda d, n: "") -> Say:
    def say(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
        return f"{actor} đã {verb} cụm loa {key}{tail(d, n)}"

    return say


def _alert(verb: str) -> Say:
    def say(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
        text = n.alerts.get(int(key), "") if key.isdigit() else ""
        return f"{actor} đã {verb} {_quoted(text) or f'số {key}'}"

    return say


def _raise(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
    what = "cảnh báo thử nghiệm" if d.get("test") else "cảnh báo khẩn cấp"
    text = n.alerts.get(int(key), "") if key.isdigit() else ""
    return f"{actor} đã phát {what} {_quoted(text)} tới {n.zone_list(d.get('zones'))}".replace("  ", " ")


def _live(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
    title = _quoted(n.lives.get(key, "") or str(d.get("title") or ""))
    return f"{actor} đã bắt đầu phát trực tiếp {title} tới {n.zone_list(d.get('zones'))}".replace("  ", " ")


def _live_stop(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
    title = _quoted(n.lives.get(key, ""))
    why = _LIVE_ENDS.get(str(d.get("reason") or ""), "")
    return f"{actor} đã kết thúc phát trực tiếp {title}".rstrip() + (f" ({why})" if why else "")


def _slot(verb: str) -> Say:
    def say(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
        title = n.slots.get(int(key), "") if key.isdigit() else ""
        items = f" ({d['items']} mục)" if isinstance(d.get("items"), int) else ""
        return f"{actor} đã {verb} khung giờ phát số {key} {_quoted(title)}".rstrip() + items

    return say


def _quiet(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
    after = d.get("after")
    span = "theo mặc định của trạm" if after is None else "không có giờ yên tĩnh" if not after else str(after)
    return f"{actor} đã đặt giờ yên tĩnh của {n.commune(key)}: {span}"


def _role(d: Mapping[str, Any]) -> str:
    role = str(d.get("role") or "")
    return next((label for r, label in domain.ROLE_LABELS.items() if r.value == role), "tài khoản")


def _on_user(verb: str) -> Say:
    return lambda actor, key, d, n: f"{actor} đã {verb} tài khoản {key}"


def _to(d: Mapping[str, Any]) -> str:
    return f" vào {d['destination']}" if d.get("destination") else ""


def _restored(actor: str, key: str, d: Mapping[str, Any], n: Names) -> str:
    made = str(d.get("created_at") or "")[:16].replace("T", " ")
    when = f" lập lúc {made} (UTC)" if made else ""
    source = f", lấy từ {d['source']}" if d.get("source") else ""
    return f"Trạm đã được khôi phục từ bản sao lưu {key}{when}{source}"


_SAY: dict[str, Say] = {
    "login": lambda a, k, d, n: f"{a} đã đăng nhập",
    "login.failed": lambda a, k, d, n: f"Đăng nhập sai với tên «{a}»",
    "login.flood": lambda a, k, d, n: "Quá nhiều lần đăng nhập sai: tạm chặn đăng nhập từ địa chỉ này",
    "logout": lambda a, k, d, n: f"{a} đã đăng xuất",
    "user.add": lambda a, k, d, n: f"{a} đã tạo tài khoản {k} ({_role(d)}, {n.commune(d.get('commune'))})",
    "user.disable": _on_user("khoá"),
    "user.enable": _on_user("mở khoá"),
    "user.password": lambda a, k, d, n: f"{a} đã đổi mật khẩu" + ("" if k == a else f" của tài khoản {k}"),
    "user.password_reset": _on_user("đặt lại mật khẩu của"),
    "user.reset_password": _on_user("đặt lại mật khẩu của"),
    "user.logout_all": _on_user("đăng xuất mọi phiên của"),
    "token.create": _on_user("tạo mã truy cập API cho"),
    "token.revoke": _on_user("thu hồi một mã truy cập của"),
    "bulletin.create": _bulletin("soạn"),
    "bulletin.edit": _bulletin("sửa"),
    "bulletin.upload": _bulletin("tải bản ghi âm lên cho"),
    "bulletin.submit": _bulletin("gửi duyệt"),
    "bulletin.approve": _bulletin("duyệt"),
    "bulletin.reject": lambda a, k, d, n: (
        _bulletin("trả lại")(a, k, d, n) + (f": {d['reason']}" if d.get("reason") else "")
    ),
    "bulletin.render": _bulletin("đọc lại (tạo lại âm thanh)"),
    "bulletin.schedule": _bulletin("xếp lịch phát"),
    "bulletin.import": lambda a, k, d, n: (
        f"{a} đã nhập {len(d.get('ids') or [])} bản tin từ tệp {_quoted(str(d.get('filename') or ''))}"
    ),
    "dictionary.set": lambda a, k, d, n: f"{a} đã đặt cách đọc «{k}» là «{d.get('reading', '')}»",
    "dictionary.delete": lambda a, k, d, n: f"{a} đã xoá cách đọc «{k}»",
    "slot.create": _slot("tạo"),
    "slot.items": _slot("sửa các mục của"),
    "slot.delete": _slot("xoá"),
    "alert.raise": _raise,
    "alert.confirm": _alert("xác nhận gửi cảnh báo"),
    "alert.cancel": lambda a, k, d, n: (
        _alert("huỷ cảnh báo")(a, k, d, n) + (" (kèm lời đính chính)" if d.get("correction") else "")
    ),
    "alert.correction_confirm": _alert("xác nhận lời đính chính của cảnh báo"),
    "live.start": _live,
    "live.stop": _live_stop,
    "device.add": _device("thêm", lambda d, n: f" vào {n.zone_list([d['zone']])}" if d.get("zone") else ""),
    "device.replace": _device("cấp lại (mật khẩu mới)"),
    "device.revoke": _device("thu hồi"),
    "device.settings": _device("đổi cài đặt của", lambda d, n: "" if d else " về mặc định của thiết bị"),
    "device.volume": _device("đặt âm lượng", lambda d, n: f" là {d['level']}%" if "level" in d else ""),
    "device.test_tone": _device("phát âm thử trên"),
    "device.location": _device("đặt vị trí"),
    "device.report_flood": lambda a, k, d, n: (
        f"Cụm loa {k} gửi báo cáo bất thường; trạm đã bỏ qua {d.get('dropped', 0)} báo cáo"
    ),
    "zone.add": lambda a, k, d, n: (
        f"{a} đã thêm vùng «{d.get('name') or k}» vào {n.commune(d.get('commune'))}"
    ),
    "zone.update": lambda a, k, d, n: f"{a} đã sửa vùng «{n.zones.get(k, k)}»",
    "commune.add": lambda a, k, d, n: f"{a} đã thêm xã «{d.get('name') or k}»",
    "commune.quiet_hours": _quiet,
    "key.rotate": lambda a, k, d, n: f"{a} đã thay khoá ký lệnh của trạm",
    "backup.run": lambda a, k, d, n: f"{a} đã yêu cầu sao lưu trạm ngay" + _to(d),
    "backup.restore": _restored,
}


def _fallback(actor: str, action: str, kind: str, key: str, n: Names) -> str:
    family = FAMILY_LABELS.get(action.split(".", 1)[0]) or FAMILY_LABELS.get(kind, "")
    target = n.zones.get(key, key) if kind == "zone" else key
    about = f" {family} {_quoted(target)}".rstrip() if family else ""
    return f"{actor} đã thực hiện một thao tác với{about or ' trạm'}"


def sentence(entry: AuditEntry, names: Names) -> str:
    """Return one entry as a Vietnamese sentence."""
    actor = _ACTORS.get(entry.actor, entry.actor)
    kind, _, key = entry.target.partition(":")
    say = _SAY.get(entry.action)
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    if say is not None:
        try:
            return say(actor, key, detail, names)
        except (KeyError, TypeError, ValueError):  # an odd detail from an older version: say less
            pass
    return _fallback(actor, entry.action, kind, key, names)


def sentences(session: Session, entries: Sequence[AuditEntry]) -> list[str]:
    """Return the entries as sentences, in order (names looked up once)."""
    names = Names.load(session, entries)
    return [sentence(e, names) for e in entries]


def action_label(action: str) -> str:
    """Return an action's Vietnamese name for the filter list (a family: "Mọi thao tác với bản tin")."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action in FAMILY_LABELS:
        return f"Mọi thao tác với {FAMILY_LABELS[action]}"
    family = FAMILY_LABELS.get(action.split(".", 1)[0])
    return f"Thao tác khác với {family}" if family else "Thao tác khác"
