"""Intake over HTTP: minxin vs django-helpdesk, concurrent clients on loopback, SQLite and PostgreSQL.

Both systems run as real server processes with the same number of worker processes, on the same
database engine, and get the same load from N concurrent asyncio + httpx clients:

* **mixed** — each client loops over: register an appeal (40 %), list the newest 20 (40 %), act
  on one of its own registered orders (20 %: dispatch, then sign as the unit's handler);
* **intake** — every client only registers appeals (the headline: throughput and p99).

minxin: ``minxin demo --orders 0`` seeds the organisation and users on a fresh database, then the
server is the product's app factory ``minxin.main:create_app`` under uvicorn (``--workers W``;
with ``--workers 1`` it is ``minxin serve --no-jobs`` itself). Endpoints: ``POST /api/v1/orders``,
``GET /api/v1/orders?limit=20``, ``POST /api/v1/orders/{n}/actions/dispatch`` (dispatcher, to a
county power unit) and ``.../actions/sign`` (that unit's handler), bearer tokens.

django-helpdesk (see ``bench/helpdesk_peer``): its own virtualenv, a generated Django project,
gunicorn with W gthread workers, DRF token auth. Endpoints: ``POST /api/tickets/``,
``GET /api/tickets/?page_size=20``, ``PATCH /api/tickets/{id}/`` with ``assigned_to`` (the
dispatch: helpdesk assigns to a person, it has no units) and ``POST /api/followups/`` by the
assignee (the sign: a follow-up acknowledging the ticket; helpdesk has no "signed" state).

Each phase is measured in ``--rounds`` slices that alternate the two systems (who goes first
alternates too), so that both see the same background load on a shared machine; the slices are
pooled. Keep-alive is 30 s on both servers.

Reported per system × database × phase × operation: requests, errors, throughput, p50/p99
latency, and the server's CPU time per request (its processes, plus PostgreSQL backends), which
is steadier than wall-clock figures on a shared machine. Then the ratios minxin ÷ helpdesk.
minxin tags risk after commit, from a queue: after each of its slices the bench waits until that
queue is empty, counts the wait in the slice's time (throughput = requests ÷ (window + drain))
and the drainer's CPU in the server's, so deferred work is not free work.
Timing assertions live here, never in tests.

    .venv/bin/python bench/intake_bench.py                      # both databases, 32 clients, 3 × 10 s per phase
    .venv/bin/python bench/intake_bench.py --quick --db sqlite  # a 5 s smoke run
    .venv/bin/python bench/intake_bench.py --skip-peer --profile /tmp/prof   # py-spy the minxin workers
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpdesk_peer import PEER_REQUIREMENTS, HelpdeskPeer, ensure_venv
from helpdesk_peer.peer import API as HD_API
from helpdesk_peer.servers import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("MINXIN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-pw-123"
OPS = ("create", "list", "dispatch", "sign")
MIX = (("create", 0.4), ("list", 0.4), ("act", 0.2))

# --------------------------------------------------------------------------- appeals

PLACES = [
    ("沈阳市辽中区", "茨榆坨镇", "GD-LZ"), ("沈阳市辽中区", "蒲东街道", "GD-LZ"), ("新民市", "胡台镇", "GD-XM"),
    ("沈阳市铁西区", "兴工街道", "GD-LZ"), ("沈阳市和平区", "太原街街道", "GD-XM"), ("康平县", "康平镇", "GD-KP"),
    ("法库县", "法库镇", "GD-FK"), ("沈阳市沈河区", "五里河街道", "GD-XM"),
]  # fmt: skip
ESTATES = ["阳光花园", "金地名京", "华润二十四城", "保利花园", "万科城", "幸福家园", "和谐小区", "翡翠城"]
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
#: (appeal_type, title, content template): phrasing after real 12345 / 95598 records
APPEALS = [
    ("repair", "小区停电", "来电人反映{addr}从今天上午{h}点开始停电，至今没有恢复，家中有老人需要用制氧机，冰箱里的胰岛素需要冷藏，"
     "打95598一直占线，请供电公司尽快派人抢修并告知恢复时间。"),
    ("repair", "电压不稳", "来电人反映{addr}近一周电压忽高忽低，晚上灯一闪一闪，已经烧坏了一台冰箱和两个电饭锅，"
     "希望供电部门上门检测线路，查明原因并给予处理。"),
    ("complaint", "夜间施工噪音扰民", "来电人反映{addr}东侧工地每天夜里施工到凌晨{h}点，搅拌车和打桩声音很大，"
     "严重影响居民休息，孩子马上要中考，多次找物业和施工方未果，请相关部门依法查处。"),
    ("help", "供暖不热", "来电人反映{addr}{b}号楼{u}单元室内温度只有14度，已经连续三天，暖气片上凉下热，"
     "供暖公司电话无人接听，家里有刚出生的孩子，请求尽快派人排查管道。"),
    ("consult", "灵活就业社保缴费", "来电人咨询：本人是灵活就业人员，户口在{district}，今年养老保险和医疗保险的缴费基数是多少，"
     "能否在手机上办理缴费，断缴三个月后补缴是否影响退休待遇。请相关部门答复。"),
    ("report", "占道经营", "来电人反映{addr}门前人行道被多家烧烤摊占用，晚上油烟很大，桌椅摆到机动车道上，"
     "行人只能走马路，存在安全隐患，请城管部门管理。"),
    ("complaint", "物业乱收费", "来电人反映{addr}物业公司今年将物业费从每平方米1.2元涨到1.8元，未经业主大会表决，"
     "不交就停水停电卡，要求相关部门核查物业收费是否合规。"),
    ("suggest", "增设公交站点", "来电人建议在{district}{street}新建小区附近增设公交站点，目前居民需要步行二十分钟才能坐车，"
     "老人和学生出行很不方便，希望交通部门考虑调整线路。"),
]  # fmt: skip


def make_appeal(rng: random.Random) -> dict[str, Any]:
    district, street, unit = rng.choice(PLACES)
    estate = rng.choice(ESTATES)
    b, u, h = rng.randint(1, 30), rng.randint(1, 6), rng.randint(1, 11)
    addr = f"{district}{street}{estate}{b}号楼"
    appeal_type, title, template = rng.choice(APPEALS)
    name = rng.choice(SURNAMES) + rng.choice(["先生", "女士"])
    phone = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
    content = template.format(addr=addr, district=district, street=street, b=b, u=u, h=h)
    return {
        "appeal_type": appeal_type,
        "title": f"{street}{title}",
        "content": content,
        "name": name,
        "phone": phone,
        "address": addr,
        "unit": unit,
    }


# --------------------------------------------------------------------------- systems under test


@dataclass
class Req:
    method: str
    path: str
    token: str
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None


class MinxinApi:
    name = "minxin"

    def __init__(self, base_url: str, tokens: dict[str, str]) -> None:
        self.base_url = base_url
        self.tokens = tokens

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def create(self, appeal: dict[str, Any]) -> Req:
        body = {
            "channel": "phone",
            "appeal_type": appeal["appeal_type"],
            "title": appeal["title"],
            "content": appeal["content"],
            "citizen": {"name": appeal["name"], "phone": appeal["phone"]},
            "address": appeal["address"],
        }
        return Req("POST", "/api/v1/orders", self.tokens["agent"], json=body)

    def created_ref(self, data: dict[str, Any], appeal: dict[str, Any]) -> Any:
        return (data["number"], appeal["unit"])

    def list(self) -> Req:
        return Req("GET", "/api/v1/orders", self.tokens["agent"], params={"limit": 20})

    def dispatch(self, ref: Any) -> Req:
        number, unit = ref
        return Req(
            "POST",
            f"/api/v1/orders/{number}/actions/dispatch",
            self.tokens["dispatcher"],
            json={"unit": unit},
        )

    def sign(self, ref: Any) -> Req:
        number, unit = ref
        return Req("POST", f"/api/v1/orders/{number}/actions/sign", self.tokens[HANDLERS[unit]], json={})


#: the county power unit an appeal is dispatched to, and the demo handler who signs for it
HANDLERS = {"GD-LZ": "lz_handler", "GD-XM": "xm_handler", "GD-KP": "kp_handler", "GD-FK": "fk_handler"}


class HelpdeskApi:
    name = "django-helpdesk"

    def __init__(self, base_url: str, seed: dict[str, Any]) -> None:
        self.base_url = base_url
        self.seed = seed
        self.tokens = seed["tokens"]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Token {token}"}

    def create(self, appeal: dict[str, Any]) -> Req:
        description = (
            f"{appeal['content']}\n\n来电人：{appeal['name']} {appeal['phone']}\n地址：{appeal['address']}"
        )
        body = {
            "queue": self.seed["queue"],
            "title": appeal["title"],
            "description": description,
            "priority": 3,
        }
        return Req("POST", f"{HD_API}/tickets/", self.tokens["agent"], json=body)

    def created_ref(self, data: dict[str, Any], appeal: dict[str, Any]) -> Any:
        return data["id"]

    def list(self) -> Req:
        return Req("GET", f"{HD_API}/tickets/", self.tokens["agent"], params={"page_size": 20})

    def dispatch(self, ref: Any) -> Req:
        body = {"assigned_to": self.seed["users"]["handler"]}
        return Req("PATCH", f"{HD_API}/tickets/{ref}/", self.tokens["dispatcher"], json=body)

    def sign(self, ref: Any) -> Req:
        body = {"ticket": ref, "title": "签收", "comment": "已签收，安排人员处理。"}
        return Req("POST", f"{HD_API}/followups/", self.tokens["handler"], json=body)


# --------------------------------------------------------------------------- load


@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def add(self, seconds: float, ok: bool, note: str = "") -> None:
        if ok:
            self.latencies.append(seconds)
        else:
            self.errors += 1
            if len(self.error_samples) < 3:
                self.error_samples.append(note)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 is a latency that really happened)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


@dataclass
class PhaseResult:
    system: str
    db: str
    phase: str
    seconds: float
    clients: int
    ops: dict[str, OpStats]
    client_cpu: float  # seconds of the load generator's CPU
    server_cpu: float  # seconds of the server's processes (+ PostgreSQL backends), drain included
    #: seconds after the window until the work deferred by its requests was done (minxin's risk
    #: tag queue empty); throughput is counted over ``seconds + drain_s``, so deferring work
    #: cannot make a system look faster than it is
    drain_s: float = 0.0

    def merge(self, other: PhaseResult) -> PhaseResult:
        """Pool two slices of the same system and phase (latencies concatenated, times summed)."""
        ops = {}
        for op in OPS:
            a, b = self.ops[op], other.ops[op]
            ops[op] = OpStats(
                a.latencies + b.latencies, a.errors + b.errors, (a.error_samples + b.error_samples)[:3]
            )
        return PhaseResult(
            self.system, self.db, self.phase, self.seconds + other.seconds, self.clients, ops,
            self.client_cpu + other.client_cpu, self.server_cpu + other.server_cpu, self.drain_s + other.drain_s,
        )  # fmt: skip

    def total_ok(self) -> int:
        return sum(len(s.latencies) for s in self.ops.values())

    def row(self, op: str) -> dict[str, Any]:
        s = self.ops[op]
        n = len(s.latencies)
        return {
            "requests": n + s.errors,
            "errors": s.errors,
            "rps": n / (self.seconds + self.drain_s),
            "p50_ms": percentile(s.latencies, 0.50) * 1000,
            "p99_ms": percentile(s.latencies, 0.99) * 1000,
        }


class Clock:
    """The measurement window: requests started in [start, end) are counted."""

    def __init__(self, warmup: float, seconds: float) -> None:
        self.t0 = time.perf_counter()
        self.start = self.t0 + warmup
        self.end = self.start + seconds


async def _send(
    client: httpx.AsyncClient, api: Any, req: Req, stats: OpStats, clock: Clock
) -> httpx.Response | None:
    t = time.perf_counter()
    try:
        response = await client.request(
            req.method, req.path, headers=api.auth(req.token), json=req.json, params=req.params
        )
        ok, note = response.is_success, f"{response.status_code} {response.text[:160]}"
    except httpx.HTTPError as exc:
        response, ok, note = None, False, f"{type(exc).__name__}: {exc}"
    if t >= clock.start:
        stats.add(time.perf_counter() - t, ok, note)
    return response if ok else None


async def _client_loop(
    index: int,
    api: Any,
    client: httpx.AsyncClient,
    clock: Clock,
    mix: tuple[tuple[str, float], ...],
    ops: dict[str, OpStats],
    think: float = 0.0,
) -> None:
    """One client. ``think`` > 0: an exponentially distributed pause (mean ``think`` seconds)
    after each operation, like an agent typing the next appeal; 0: back to back (saturation)."""
    rng = random.Random(1000 + index)
    pending: deque[Any] = deque(maxlen=200)
    cumulative, acc = [], 0.0
    for name, weight in mix:
        acc += weight
        cumulative.append((acc, name))
    while time.perf_counter() < clock.end:
        draw = rng.random() * acc
        op = next(name for bound, name in cumulative if draw < bound)
        if op == "act" and not pending:
            op = "create"
        if op == "create":
            appeal = make_appeal(rng)
            response = await _send(client, api, api.create(appeal), ops["create"], clock)
            if response is not None:
                pending.append(api.created_ref(response.json(), appeal))
        elif op == "list":
            await _send(client, api, api.list(), ops["list"], clock)
        else:
            ref = pending.popleft()
            if await _send(client, api, api.dispatch(ref), ops["dispatch"], clock) is not None:
                await _send(client, api, api.sign(ref), ops["sign"], clock)
        if think > 0:
            pause = rng.expovariate(1 / think)
            await asyncio.sleep(max(0.0, min(pause, clock.end - time.perf_counter())))


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """user + system CPU seconds of these processes, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return out


async def run_phase(
    api: Any,
    *,
    db: str,
    phase: str,
    clients: int,
    seconds: float,
    warmup: float,
    cpu_pids: Callable[[], list[int]],
    on_measure: Callable[[], Any] | None = None,
    think: float = 0.0,
    backlog: Callable[[], int] | None = None,
) -> PhaseResult:
    mix = MIX if phase == "mixed" else (("create", 1.0),)
    ops = {op: OpStats() for op in OPS}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=api.base_url, limits=limits, timeout=60.0) as client:
        clock = Clock(warmup, seconds)
        tasks = [
            asyncio.create_task(_client_loop(i, api, client, clock, mix, ops, think)) for i in range(clients)
        ]
        await asyncio.sleep(max(0.0, clock.start - time.perf_counter()))
        cpu0, proc0 = _cpu_by_pid(cpu_pids()), time.process_time()
        if on_measure is not None:
            on_measure()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - clock.start
        drained_at = time.perf_counter()
        while backlog is not None and backlog():
            await asyncio.sleep(0.05)
        drain_s = time.perf_counter() - drained_at if backlog is not None else 0.0
        proc1, cpu1 = time.process_time(), _cpu_by_pid(cpu_pids())
        # a process (PostgreSQL backend) started during the window counts from zero; one that
        # ended during it is lost (both systems keep their connections, so this is rare)
        server_cpu = sum(t - cpu0.get(pid, 0.0) for pid, t in cpu1.items())
    return PhaseResult(api.name, db, phase, elapsed, clients, ops, proc1 - proc0, server_cpu, drain_s)


# --------------------------------------------------------------------------- databases and servers


def pg_exec(sql: str, url: str = PG_ADMIN_URL) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def pg_backend_pids(dbname: str) -> list[int]:
    return [int(r[0]) for r in pg_exec(f"SELECT pid FROM pg_stat_activity WHERE datname = '{dbname}'")]


@dataclass
class MinxinServer:
    url: str  # database URL
    workdir: Path
    port: int
    workers: int
    app: str = "minxin.main:create_app"
    server: ServerProcess | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINXIN_")}
        env.update(
            {
                "MINXIN_DATABASE_URL": self.url,
                "MINXIN_DATA_DIR": str(self.workdir / "var"),
                "MINXIN_WORKER_ENABLED": "false",
            }
        )
        return env

    def setup(self) -> None:
        out = subprocess.run(
            [str(BIN / "minxin"), "demo", "--db", self.url, "--orders", "0", "--password", PASSWORD],
            env=self.env(), cwd=self.workdir, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"minxin demo failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")

    def start(self) -> None:
        if self.workers == 1 and self.app == "minxin.main:create_app":  # the product's own serve path
            argv = [str(BIN / "minxin"), "serve", "--db", self.url, "--no-jobs", "--port", str(self.port)]
            env = self.env()
        else:  # `minxin serve` has no --workers: the same app factory under uvicorn's process manager
            argv = [
                str(BIN / "uvicorn"), self.app, "--factory", "--workers", str(self.workers),
                "--host", "127.0.0.1", "--port", str(self.port), "--timeout-keep-alive", "30",
            ]  # fmt: skip
            env = {
                **self.env(),
                "MINXIN_AUTO_MIGRATE": "false",
            }  # migrated by `minxin demo`; no race between workers
        self.server = ServerProcess(
            f"minxin ({self.workers} workers)",
            argv,
            env=env,
            cwd=self.workdir,
            log=self.workdir / "minxin.log",
        )
        self.server.start(f"{self.base_url}/healthz")
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            for user in ("agent", "dispatcher", *HANDLERS.values()):
                response = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
                response.raise_for_status()
                self.tokens[user] = response.json()["access_token"]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def counts(self) -> dict[str, int]:
        if self.url.startswith("sqlite"):
            import sqlite3

            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                orders = conn.execute("SELECT count(*) FROM work_orders").fetchone()[0]
                events = conn.execute("SELECT count(*) FROM order_events").fetchone()[0]
        else:
            orders = pg_exec("SELECT count(*) FROM work_orders", self.url)[0][0]
            events = pg_exec("SELECT count(*) FROM order_events", self.url)[0][0]
        return {"orders": int(orders), "events": int(events)}

    def backlog(self) -> int:
        """Orders registered but not risk-tagged yet (the tag queue runs after commit)."""
        sql = "SELECT count(*) FROM risk_tag_queue"
        if self.url.startswith("sqlite"):
            import sqlite3

            with sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30) as conn:
                return int(conn.execute(sql).fetchone()[0])
        return int(pg_exec(sql, self.url)[0][0])


# --------------------------------------------------------------------------- reporting


def fmt(v: float, digits: int = 1) -> str:
    return "—" if v != v else f"{v:,.{digits}f}"  # NaN → dash


def print_results(results: list[PhaseResult]) -> None:
    header = f"{'system':<16} {'db':<10} {'phase':<6} {'op':<8} {'requests':>8} {'err':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        for op in OPS:
            row = r.row(op)
            if not row["requests"]:
                continue
            print(
                f"{r.system:<16} {r.db:<10} {r.phase:<6} {op:<8} {row['requests']:>8} {row['errors']:>4} "
                f"{fmt(row['rps']):>8} {fmt(row['p50_ms']):>8} {fmt(row['p99_ms']):>8}"
            )
        ok = r.total_ok()
        drained = f", deferred work drained {fmt(r.drain_s, 2)} s after the window" if r.drain_s else ""
        print(
            f"{'':<16} {'':<10} {'':<6} {'(all)':<8} {ok:>8} {'':>4} {fmt(ok / (r.seconds + r.drain_s)):>8}   "
            f"server CPU {fmt(1000 * r.server_cpu / max(ok, 1), 2)} ms/req, load generator {fmt(100 * r.client_cpu / r.seconds, 0)} % of a core"
            + drained
        )
    for r in results:
        for op in OPS:
            for sample in r.ops[op].error_samples:
                print(f"  ! {r.system} {r.db} {r.phase} {op}: {sample}")


def ratios(results: list[PhaseResult]) -> list[dict[str, Any]]:
    by = {(r.system, r.db, r.phase): r for r in results}
    out = []
    for (system, db, phase), mx in by.items():
        if system != "minxin" or ("django-helpdesk", db, phase) not in by:
            continue
        hd = by[("django-helpdesk", db, phase)]
        for op in OPS:
            a, b = mx.row(op), hd.row(op)
            if a["requests"] and b["requests"]:
                out.append(
                    {
                        "db": db, "phase": phase, "op": op,
                        "rps": a["rps"] / b["rps"] if b["rps"] else float("inf"),
                        "p99": a["p99_ms"] / b["p99_ms"] if b["p99_ms"] else float("nan"),
                        "cpu": (mx.server_cpu / max(mx.total_ok(), 1)) / (hd.server_cpu / max(hd.total_ok(), 1)) if hd.server_cpu else float("nan"),
                    }
                )  # fmt: skip
    return out


def print_ratios(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    print(f"\n{'ratio minxin ÷ helpdesk':<26} {'req/s':>8} {'p99':>8} {'CPU/req (phase)':>16}")
    for r in rows:
        print(
            f"{r['db']:<10} {r['phase']:<6} {r['op']:<8} {fmt(r['rps'], 2):>7}× {fmt(r['p99'], 2):>7}× {fmt(r['cpu'], 2):>15}×"
        )


def print_verdict(results: list[PhaseResult]) -> None:
    print(
        "\nTargets (intake phase, 32 clients): minxin create p99 < 50 ms; create throughput ≥ 3× django-helpdesk"
    )
    by = {(r.system, r.db, r.phase): r for r in results}
    for (system, db, phase), mx in by.items():
        if system != "minxin" or phase != "intake":
            continue
        row = mx.row("create")
        p99_ok = row["p99_ms"] < 50
        line = f"  {db:<10} p99 {fmt(row['p99_ms'])} ms [{'met' if p99_ok else 'MISSED'}]"
        hd = by.get(("django-helpdesk", db, "intake"))
        if hd is not None:
            ratio = row["rps"] / max(hd.row("create")["rps"], 1e-9)
            line += f"; {fmt(row['rps'])} vs {fmt(hd.row('create')['rps'])} req/s = {fmt(ratio, 2)}× [{'met' if ratio >= 3 else 'MISSED'}]"
        print(line)


def to_json(results: list[PhaseResult]) -> list[dict[str, Any]]:
    return [
        {
            "system": r.system, "db": r.db, "phase": r.phase, "seconds": r.seconds, "drain_s": r.drain_s, "clients": r.clients,
            "server_cpu_s": r.server_cpu, "client_cpu_s": r.client_cpu,
            "ops": {op: r.row(op) for op in OPS if r.row(op)["requests"]},
        }
        for r in results
    ]  # fmt: skip


# --------------------------------------------------------------------------- main


def profile_start(
    pyspy: str, pids: list[int], seconds: float, outdir: Path, tag: str, *, gil: bool = False
) -> list[subprocess.Popen[bytes]]:
    """py-spy the server processes for the measured window: a flame graph (SVG) and collapsed
    stacks (text) per process. Default: every active thread (lock waits show); ``gil``: only the
    thread holding the GIL (where the CPU goes)."""
    outdir.mkdir(parents=True, exist_ok=True)
    procs = []
    for pid in pids:
        for fmt_, ext in (("flamegraph", "svg"), ("raw", "txt")):
            out = outdir / f"{tag}-{pid}.{ext}"
            procs.append(
                subprocess.Popen(
                    [pyspy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--format", fmt_,
                     "--output", str(out), "--nonblocking", "--rate", "97", *(["--gil"] if gil else [])],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
    return procs


async def bench_db(engine: str, args: argparse.Namespace, results: list[PhaseResult], scratch: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    workdir = scratch / engine
    workdir.mkdir(parents=True, exist_ok=True)
    pg_dbs: list[str] = []
    minxin: MinxinServer | None = None
    peer: HelpdeskPeer | None = None
    try:
        if engine == "sqlite":
            mx_url, mx_cpu_extra = f"sqlite:///{workdir / 'minxin.db'}", list
        else:
            mx_db = f"minxin_bench_{tag}"
            pg_exec(f"CREATE DATABASE {mx_db}")
            pg_dbs.append(mx_db)
            mx_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{mx_db}"

            def mx_cpu_extra(name: str = mx_db) -> list[int]:
                return pg_backend_pids(name)

        print(f"· {engine}: seeding minxin (minxin demo --orders 0)…", flush=True)
        minxin = MinxinServer(mx_url, workdir, free_port(), args.workers, args.minxin_app)
        minxin.setup()
        minxin.start()
        api_mx = MinxinApi(minxin.base_url, minxin.tokens)
        assert minxin.server is not None
        mx_pids: Callable[[], list[int]] = lambda: minxin.server.pids() + mx_cpu_extra()  # type: ignore[union-attr]  # noqa: E731

        api_hd: HelpdeskApi | None = None
        hd_pids: Callable[[], list[int]] = list
        if not args.skip_peer:
            python = ensure_venv(Path(args.peer_venv))
            if engine == "sqlite":
                hd_name = str(workdir / "helpdesk.sqlite3")
            else:
                hd_name = f"helpdesk_bench_{tag}"
                pg_exec(f"CREATE DATABASE {hd_name}")
                pg_dbs.append(hd_name)
            print(f"· {engine}: migrating and seeding django-helpdesk…", flush=True)
            peer = HelpdeskPeer(
                python, workdir / "helpdesk", engine, hd_name, free_port(), args.workers, args.peer_threads
            )
            peer.setup()
            peer.start()
            api_hd = HelpdeskApi(peer.base_url, peer.seed)

            def hd_pids(name: str = hd_name) -> list[int]:
                extra = pg_backend_pids(name) if engine == "postgresql" else []
                return peer.server.pids() + extra  # type: ignore[union-attr]

        systems = [(api, pids) for api, pids in ((api_mx, mx_pids), (api_hd, hd_pids)) if api is not None]
        slice_s = args.seconds / args.rounds
        for phase in args.phases:
            merged: dict[str, PhaseResult] = {}
            for round_no in range(args.rounds):
                # interleave the systems in short slices (alternating who goes first) so that both
                # see the same background load on a shared machine
                for api, pids in systems if round_no % 2 == 0 else systems[::-1]:
                    on_measure = None
                    if args.profile and api is api_mx:

                        def on_measure(phase: str = phase, round_no: int = round_no) -> None:
                            pids = minxin.server.pids()  # type: ignore[union-attr]
                            tag = f"minxin-{engine}-{phase}-r{round_no + 1}"
                            profile_start(
                                args.py_spy, pids, slice_s, Path(args.profile), tag, gil=args.profile_gil
                            )

                    print(
                        f"· {engine}: {phase} phase, round {round_no + 1}/{args.rounds}, {api.name}, "
                        f"{args.clients} clients, {slice_s:g} s (+{args.warmup:g} s warm-up)…",
                        flush=True,
                    )
                    result = await run_phase(
                        api, db=engine, phase=phase, clients=args.clients, seconds=slice_s, warmup=args.warmup,
                        cpu_pids=pids, on_measure=on_measure, think=args.think_ms / 1000,
                        backlog=minxin.backlog if api is api_mx else None,
                    )  # fmt: skip
                    row = result.row("create")
                    print(
                        f"    {result.total_ok() / result.seconds:,.1f} req/s; create p50 {fmt(row['p50_ms'])} ms "
                        f"p99 {fmt(row['p99_ms'])} ms; load average {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                    merged[api.name] = merged[api.name].merge(result) if api.name in merged else result
            results.extend(merged.values())
        print(
            f"· {engine}: rows at the end: minxin {minxin.counts()}"
            + (f", helpdesk {peer.counts()}" if peer else ""),
            flush=True,
        )
    finally:
        for server in (minxin, peer):
            if server is not None:
                try:
                    server.stop()
                except Exception as exc:  # keep stopping the others
                    print(f"! stopping a server: {exc}", file=sys.stderr)
        for name in pg_dbs:
            try:
                pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except Exception as exc:
                print(f"! dropping database {name}: {exc}", file=sys.stderr)


def tree_state() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {head.stdout.strip()}" + (
        " + uncommitted changes under src/" if dirty.stdout.strip() else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="measured seconds per system and phase (default 30)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds before each slice (default 2)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="split each phase into this many slices, alternating the systems (default 3)",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause of each client between operations (default 0: back to back, i.e. saturation)",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--phase", choices=("mixed", "intake", "both"), default="both")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server worker processes for both systems (default 2: the cores)",
    )
    parser.add_argument(
        "--peer-threads", type=int, default=8, help="gunicorn gthreads per helpdesk worker (default 8)"
    )
    parser.add_argument(
        "--peer-venv",
        default=str(Path(os.environ.get("MINXIN_BENCH_HELPDESK_VENV", "/work/bench-venvs/helpdesk"))),
    )
    parser.add_argument(
        "--minxin-app",
        default="minxin.main:create_app",
        help="app factory to serve (to A/B a patch: a module on PYTHONPATH that wraps create_app)",
    )
    parser.add_argument("--skip-peer", action="store_true", help="minxin only")
    parser.add_argument(
        "--quick", action="store_true", help="5 s phases, 1 s warm-up (a smoke run; figures are rough)"
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="py-spy record the minxin workers during each measured phase"
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="profile only the GIL holder (CPU) instead of all active threads",
    )
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "/work/bench-venvs/tools/bin/py-spy")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (server logs)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.rounds = min(args.seconds, 5.0), min(args.warmup, 1.0), 1
    args.phases = ("mixed", "intake") if args.phase == "both" else (args.phase,)
    engines = ("sqlite", "postgresql") if args.db == "both" else (args.db,)

    print(f"minxin {tree_state()}; Python {sys.version.split()[0]}", flush=True)
    pacing = f"think {args.think_ms:g} ms" if args.think_ms else "back to back"
    print(f"intake bench: {args.clients} clients ({pacing}), {args.seconds:g} s per phase, {args.workers} workers each, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)  # fmt: skip
    if not args.skip_peer:
        print(
            f"peer: {', '.join(PEER_REQUIREMENTS)}; gunicorn {args.workers} gthread workers × {args.peer_threads}",
            flush=True,
        )
    scratch = Path(tempfile.mkdtemp(prefix="minxin-intake-bench-"))
    results: list[PhaseResult] = []
    try:
        for engine in engines:
            asyncio.run(bench_db(engine, args, results, scratch))
    finally:
        if args.keep:
            print(f"· scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print_results(results)
    print_ratios(ratios(results))
    print_verdict(results)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"args": {k: v for k, v in vars(args).items() if k != "phases"}, "results": to_json(results)},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
