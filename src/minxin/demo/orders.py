"""Demo orders: a few hundred appeals over the last weeks, driven through the real service so
every order's events, deadlines and counters are exactly what real use would produce.

Each order is given a fate (how far along the loop it gets); recent orders stop earlier
because their next step would lie in the future.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from minxin.accounts import repository as accounts_repository
from minxin.accounts import service as accounts_service
from minxin.accounts.principal import Principal
from minxin.attachments import service as attachments_service
from minxin.demo.organisation import USERS
from minxin.demo.templates import APPEALS, CALLERS
from minxin.workorders import repository as orders_repository
from minxin.workorders import service as orders
from minxin.workorders.schemas import OrderCreate

FATES: list[tuple[str, int]] = [
    ("registered", 6),
    ("dispatched", 7),
    ("signed", 9),
    ("returned", 4),
    ("suspended", 3),
    ("extension", 3),
    ("replied", 9),
    ("unreachable", 3),
    ("closed", 38),
    ("reopened", 4),
    ("unreasonable", 3),
    ("merged", 2),
    ("void", 2),
    ("second_level", 4),
    ("co_handle", 3),
]


def tiny_png() -> bytes:
    """A valid 8×8 grey PNG, so demo replies carry a real photo."""
    raw = b"".join(b"\x00" + b"\x80" * 8 for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)) + chunk(
        b"IDAT", zlib.compress(raw)
    ) + chunk(b"IEND", b"")


def tiny_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A valid mono 8 kHz WAV of silence, standing in for a callback recording."""
    frames = b"\x00\x00" * int(seconds * rate)
    header = b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16
    ) + b"data" + struct.pack("<I", len(frames))
    return header + frames


class _Driver:
    """Runs actions as the right person at simulated times, stopping at the present."""

    def __init__(self, session: Session, *, now: datetime, attachments_root: Path, settings: orders.Settings) -> None:
        self.session = session
        self.now = now
        self.root = attachments_root
        self.settings = settings
        self.people: dict[str, Principal] = {}
        for username, *_rest in USERS:
            user = accounts_repository.get_by_username(session, username)
            assert user is not None
            self.people[username] = accounts_service.principal_of(user)
        self.handler_of = {unit: name for name, _d, role, unit in USERS if role == "handler"}

    def store(self, data: bytes, name: str, who: str, at: datetime) -> str:
        a = attachments_service.store(
            self.session, chunks=iter([data]), original_name=name, actor=self.people[who], now=at, root=self.root,
            max_bytes=10_000_000,
        )
        return a.id

    def act(self, number: str, action: str, body: dict[str, Any], who: str, at: datetime) -> bool:
        if at >= self.now:
            return False
        orders.act(self.session, number, action, body, actor=self.people[who], now=at, settings=self.settings)
        return True


SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"


def _caller(rng: random.Random) -> tuple[str, str]:
    """Mostly distinct callers; about one in twelve is one of a few people who call again and
    again (what the risk board's repeat-caller detector should find)."""
    if rng.random() < 0.08:
        return CALLERS[rng.randrange(3)]
    name = rng.choice(SURNAMES) + rng.choice(["先生", "女士"])
    return name, f"1{rng.choice('3589')}{rng.randrange(10)}{rng.randrange(10**8):08d}"


def _steps(rng: random.Random, start: datetime) -> Iterator[datetime]:
    at = start
    for low, high in ((5, 45), (10, 150), (120, 1800), (60, 1200), (30, 600), (60, 900), (60, 900), (60, 900)):
        at = at + timedelta(minutes=rng.randint(low, high))
        yield at


def create_orders(
    session: Session, *, count: int, now: datetime, attachments_root: Path, settings: orders.Settings, seed: int = 12345
) -> int:
    rng = random.Random(seed)
    d = _Driver(session, now=now, attachments_root=attachments_root, settings=settings)
    names, weights = zip(*FATES, strict=True)
    span = timedelta(days=40)
    created: list[str] = []
    for i in range(count):
        title, content, appeal_type, category, unit, address = APPEALS[i % len(APPEALS)]
        caller, phone = _caller(rng)
        start = now - span + span * (i / count) + timedelta(minutes=rng.randint(0, 50))
        if start >= now:
            start = now - timedelta(minutes=5)
        fate = rng.choices(names, weights)[0]
        if appeal_type in ("consult", "praise", "suggest") and rng.random() < 0.7:
            fate = "answered"
        data = OrderCreate(
            channel=rng.choice(["phone"] * 6 + ["web", "app", "api"]),
            appeal_type=appeal_type,
            title=title,
            content=content,
            citizen={"name": caller, "phone": phone},
            address=address,
            category=category,
            urgency="urgent" if ("隐患" in content or "紧急" in content) else "normal",
        )
        order, _ = orders.register(session, data, actor=d.people["agent"], now=start, settings=settings)
        created.append(order.number)
        _drive(d, rng, order.number, fate, unit, start, created)
    return len(created)


def _open(d: _Driver, number: str) -> bool:
    order = orders_repository.get_by_number(d.session, number)
    return order is not None and order.status not in ("merged", "void")


def _drive(d: _Driver, rng: random.Random, number: str, fate: str, unit: str, start: datetime, created: list[str]) -> None:
    t = _steps(rng, start)
    handler = d.handler_of[unit]
    if fate == "registered":
        return
    if fate == "answered":
        d.act(number, "answer", {"answer": "已按政策口径答复来电人，来电人表示清楚。"}, "agent", next(t))
        return
    if fate == "merged":
        target = next((n for n in reversed(created[:-1]) if _open(d, n)), None)
        if target:
            d.act(number, "merge", {"into": target, "note": "同一来电人重复反映"}, "dispatcher", next(t))
        return
    if fate == "void":
        d.act(number, "void", {"reason": "来电人误拨，无具体诉求"}, "supervisor", next(t))
        return
    if not d.act(number, "dispatch", {"unit": unit}, "dispatcher", next(t)) or fate == "dispatched":
        if fate == "dispatched" and rng.random() < 0.4:
            d.act(number, "urge", {"note": "请尽快签收办理"}, "supervisor", next(t))
        return
    if fate == "returned":
        d.act(number, "return", {"reason": "不属于本单位职责范围，建议转交属地政府"}, handler, next(t))
        return
    if not d.act(number, "sign", {}, handler, next(t)) or fate == "signed":
        return
    if fate == "second_level" and unit == "GD-LZ":
        d.act(number, "dispatch", {"unit": "GD-LZ-CZ"}, handler, next(t))
        return
    if fate == "co_handle":
        d.act(number, "co_handle", {"units": ["QX-LZ" if unit != "QX-LZ" else "CGJ"], "note": "请属地协助"}, handler, next(t))
    if fate == "suspended":
        d.act(number, "suspend", {"reason": "等待来电人提供购物凭证"}, handler, next(t))
        return
    if fate == "extension":
        d.act(number, "request_extension", {"duration": "3wd", "reason": "需协调多个部门现场勘查"}, handler, next(t))
        return
    at = next(t)
    photo = d.store(tiny_png(), "现场照片.png", handler, at)
    if not d.act(number, "reply", {"result": "已安排人员到现场处理完毕，并向来电人说明情况。", "attachments": [photo]}, handler, at):
        return
    if fate == "replied":
        return
    if fate == "unreachable":
        d.act(number, "callback", {"reachable": False, "note": "无人接听"}, "supervisor", next(t))
        return
    at = next(t)
    recording = d.store(tiny_wav(), "回访录音.wav", "supervisor", at)
    if fate in ("reopened", "unreasonable"):
        if not d.act(number, "callback", {"satisfaction": "dissatisfied", "resolved": False, "recording": recording}, "supervisor", at):
            return
        if fate == "reopened":
            d.act(number, "reopen", {"reason": "来电人反映问题仍未解决"}, "supervisor", next(t))
        else:
            d.act(number, "close", {"unreasonable": True, "reason": "诉求超出政策规定，已解释"}, "supervisor", next(t))
        return
    satisfaction = rng.choices(["satisfied", "basically_satisfied"], [85, 15])[0]
    d.act(number, "callback", {"satisfaction": satisfaction, "resolved": True, "recording": recording}, "supervisor", at)
