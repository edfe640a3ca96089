"""Reports at scale: a megacity's year of history → ``minxin import`` → monthly scorecard and the
dashboard's API, on PostgreSQL and SQLite. Results go to docs/benchmarks.md ("Reports at scale").

The generated year (2025-11-01 … 2026-10-31, Asia/Shanghai) has ``10,000,000 × --scale`` orders:
weekly and seasonal volume (heating season, summer storms, Spring Festival), office-hour peaks,
≈250 units (the demo organisation, 40 more departments, 13 districts × 12 street offices), the
60 default categories routed to their units, 13 districts, realistic timelines (direct answers,
late dispatches, working-day deadlines, callbacks, reopens, returns, fairness flags, merged and
void orders) and short Chinese texts. Same seed → same file.

Measured, each against a naive reference in the same run (ratios printed):
- import: rows/s of ``run_import`` vs. the per-row core path (``from_row`` + ``partial_of``) on a sample;
- monthly scorecard (10/2026, every unit): ``report.scorecard`` on the rollups vs. a GROUP BY
  over the month's raw ``order_facts`` (which must give the same counters);
- dashboard API over HTTP (uvicorn): p50/p95 of the calls the dashboard page makes, and of the
  page itself; vs. the channel breakdown computed from raw facts.

    .venv/bin/python bench/report_bench.py --scale 0.01                 # ≈100k orders, both databases
    .venv/bin/python bench/report_bench.py --scale 1 --db postgresql    # 10 million
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from minxin.core.kpi import IMPORT_COLUMNS, from_row, partial_of  # noqa: E402
from minxin.core.official_calendar import official_calendar  # noqa: E402
from minxin.demo.templates import APPEALS  # noqa: E402

START = date(2025, 11, 1)
DAYS = 365
MONTH = "2026-10"
FULL = 10_000_000
CST_US = 8 * 3600 * 1_000_000
US, MIN, HOUR, DAY = 1_000_000, 60_000_000, 3_600_000_000, 86_400_000_000
REGIONS = ("210102", "210103", "210104", "210105", "210106", "210111", "210112", "210113", "210114", "210115",
           "210123", "210124", "210181")  # fmt: skip
REGION_WEIGHT = np.array([9, 9, 8, 9, 11, 4, 8, 4, 7, 4, 3, 3, 4], dtype=float)
CHANNELS = ("phone", "app", "web", "transfer", "api", "open311")
CHANNEL_P = (0.62, 0.15, 0.10, 0.08, 0.03, 0.02)
APPEAL_TYPES = ("complaint", "help", "consult", "repair", "report", "suggest", "praise")
APPEAL_P = (0.34, 0.20, 0.21, 0.15, 0.04, 0.04, 0.02)
HANDLE_WD = {"complaint": 5, "report": 5, "suggest": 5, "praise": 3, "help": 1, "consult": 1, "repair": 1}
OPTIONAL = ("region", "status", "excluded_from_satisfaction", "callback_reachable")


# ----------------------------------------------------------------------------- organisation
def organisation() -> tuple[list[tuple[str, str, str, str | None, str | None]], dict[str, list[str]]]:
    """Extra units (code, name, kind, parent, region) and the unit pool of each category family."""
    units: list[tuple[str, str, str, str | None, str | None]] = []
    for i in range(1, 41):
        units.append((f"BM-{i:02d}", f"市直部门{i:02d}", "department", "12345", "2101"))
    units.append(("RQJT", "沈阳燃气集团", "company", "12345", "2101"))
    streets: list[str] = []
    for r in REGIONS:
        district = f"QU-{r}"
        units.append((district, f"区县政府{r}", "district", "12345", r))
        for s in range(1, 13):
            code = f"{district}-{s:02d}"
            units.append((code, f"{r}区第{s}街道办事处", "station", district, r))
            streets.append(code)
    power = ["GD-LZ", "GD-LZ-CZ", "GD-LZ-CYT", "GD-XM", "GD-XM-CZ", "GD-KP", "GD-FK", "GDGS"]
    pools = {
        "01": ["ZJJ", "CGJ", *streets], "02": ["HBJ", *streets], "03": ["JTJ", "BM-01", "BM-02"], "04": ["JYJ", "BM-03"],
        "05": ["RSJ", "BM-04", "BM-05"], "06": ["SCJ", "BM-06", "BM-07"], "07": ["WJW", "BM-08"],
        "0801": power, "0802": ["SWJT"], "0803": ["RLJT"], "0804": ["RQJT"], "09": ["GAJ", *streets],
        "other": [f"BM-{i:02d}" for i in range(9, 41)],
    }  # fmt: skip
    return units, pools


def categories() -> list[str]:
    import yaml

    tree = yaml.safe_load((REPO / "src/minxin/categories/default_tree.yaml").read_text(encoding="utf-8"))
    leaves: list[str] = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for n in nodes:
            walk(n["children"]) if n.get("children") else leaves.append(str(n["code"]))

    walk(tree)
    return leaves


# ----------------------------------------------------------------------------- the year
def _ts(us: np.ndarray, has: np.ndarray) -> list[str]:
    text = np.datetime_as_string((us + CST_US).astype("datetime64[us]"), unit="s")
    text = np.strings.add(text.astype("U19"), "+08:00")
    return np.where(has, text, "").tolist()


def generate(path: Path, n: int, seed: int = 2026) -> None:
    """Write ``n`` orders to ``path`` (CSV, UTF-8), vectorised, in 500k-row blocks."""
    rng = np.random.default_rng(seed)
    cal = official_calendar()
    days = np.arange(DAYS)
    dates = [START + timedelta(days=int(d)) for d in days]
    weight = np.array([(1.15, 1.1, 1.05, 1.05, 1.0, 0.8, 0.75)[d.weekday()] for d in dates])
    weight *= np.array([1.18 if d.month in (11, 12, 1, 2, 3) else (1.1 if d.month in (7, 8) else 1.0) for d in dates])
    weight *= np.array([0.7 if date(2026, 2, 15) <= d <= date(2026, 2, 23) else 1.0 for d in dates])
    hours = np.array([1, 1, .5, .5, .5, 1, 2, 4, 8, 10, 10, 9, 6, 6, 9, 9, 8, 7, 6, 5, 5, 4, 3, 2], dtype=float)
    leaves = categories()
    _extra_units, pools = organisation()
    pool_of = [pools.get(c[:4], pools.get(c[:2], pools["other"])) for c in leaves]
    cat_p = rng.dirichlet(np.ones(len(leaves)) * 0.8)
    due_cache: dict[int, int] = {}
    base_us = int((datetime(START.year, START.month, START.day) - datetime(1970, 1, 1)).total_seconds()) * US - CST_US
    end_us = base_us + DAYS * DAY
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*IMPORT_COLUMNS, *OPTIONAL])
        done = 0
        while done < n:
            m = min(500_000, n - done)
            day = rng.choice(DAYS, size=m, p=weight / weight.sum())
            hour = rng.choice(24, size=m, p=hours / hours.sum())
            created = base_us + day * DAY + hour * HOUR + rng.integers(0, HOUR, m) // US * US
            order = np.argsort(created, kind="stable")
            day, created = day[order], created[order]
            channel = rng.choice(len(CHANNELS), size=m, p=CHANNEL_P)
            appeal = rng.choice(len(APPEAL_TYPES), size=m, p=APPEAL_P)
            cat = rng.choice(len(leaves), size=m, p=cat_p)
            region = rng.choice(len(REGIONS), size=m, p=REGION_WEIGHT / REGION_WEIGHT.sum())
            unit = [pool_of[c][k % len(pool_of[c])] for c, k in zip(cat.tolist(), rng.integers(0, 10**6, m).tolist(), strict=True)]
            a_name = np.array(APPEAL_TYPES)[appeal]
            direct_p = np.select([a_name == "consult", a_name == "suggest", a_name == "praise"], [0.6, 0.4, 0.5], 0.03)
            direct = rng.random(m) < direct_p
            dispatched = created + np.exp(rng.normal(np.log(12), 0.8, m)).astype(np.int64) * MIN
            signed_ok = ~direct & (rng.random(m) < 0.96)
            signed = dispatched + (rng.exponential(1.5, m) * HOUR).astype(np.int64)
            handle_days = np.exp(rng.normal(np.log(2.2), 0.7, m))
            replied = dispatched + (handle_days * DAY).astype(np.int64)
            horizon = end_us + 2 * DAY  # the export was taken two days after the year ended
            replied_ok = ~direct & (replied < horizon) & (rng.random(m) < 0.995)
            closed = np.where(direct, created + rng.integers(2, 20, m) * MIN, replied + rng.integers(1, 4, m) * DAY)
            closed_ok = direct | (replied_ok & (closed < horizon) & (rng.random(m) < 0.95))
            callback = replied + rng.integers(2, 48, m) * HOUR
            callback_ok = replied_ok & (callback < horizon) & (rng.random(m) < 0.88)
            reachable = rng.random(m) < 0.93
            wd = np.array([HANDLE_WD[a] for a in APPEAL_TYPES])[appeal]
            keys, inverse = np.unique(day * 10 + wd, return_inverse=True)
            for key in keys.tolist():
                if key not in due_cache:
                    start = datetime.combine(dates[key // 10], datetime.min.time()).replace(tzinfo=cal.tz) + timedelta(hours=9)
                    due_cache[key] = int(cal.add_working_days(start, key % 10).timestamp()) * US
            handle_due = np.array([due_cache[k] for k in keys.tolist()], dtype=np.int64)[inverse.reshape(-1)]
            late = replied_ok & (replied > handle_due)
            sat_draw = rng.random(m) + np.where(late, 0.12, 0)
            answered = callback_ok & reachable
            satisfaction = np.where(answered, np.select([sat_draw < 0.78, sat_draw < 0.92], ["satisfied", "basically_satisfied"], "dissatisfied"), "")
            resolved = np.where(answered, np.where(rng.random(m) < 0.88, "true", "false"), "")
            excluded = (satisfaction == "dissatisfied") & (rng.random(m) < 0.25)
            status = np.select([rng.random(m) < 0.02, rng.random(m) < 0.01], ["merged", "void"], "")
            reopen = np.where(~direct & (rng.random(m) < 0.035), rng.integers(1, 3, m), 0)
            returned = np.where(~direct & (rng.random(m) < 0.04), 1, 0)
            evidence = replied_ok & (rng.random(m) < 0.93)
            tpl = rng.integers(0, len(APPEALS), m)
            serial = np.arange(done, done + m)
            title = [f"{APPEALS[t][0]}" for t in tpl.tolist()]
            content = [f"{APPEALS[t][1]}（{REGIONS[r]}，来电{s % 97 + 1}次）" for t, r, s in zip(tpl.tolist(), region.tolist(), serial.tolist(), strict=True)]
            cols = [
                [f"SY{s:09d}" for s in serial.tolist()], np.array(CHANNELS)[channel].tolist(), a_name.tolist(),
                np.array(leaves)[cat].tolist(), unit, title, content, _ts(created, np.ones(m, bool)),
                _ts(dispatched, ~direct), _ts(signed, signed_ok & (signed < horizon)),
                _ts(replied, replied_ok), _ts(closed, closed_ok), _ts(created + 30 * MIN, np.ones(m, bool)),
                _ts(handle_due, ~direct), _ts(callback, callback_ok), satisfaction.tolist(), resolved.tolist(),
                reopen.tolist(), returned.tolist(), np.where(evidence, "1", "0").tolist(),
                np.array(REGIONS)[region].tolist(), status.tolist(), np.where(excluded, "true", "").tolist(),
                np.where(callback_ok, np.where(reachable, "true", "false"), "").tolist(),
            ]  # fmt: skip
            writer.writerows(zip(*cols, strict=True))
            done += m
            print(f"  generated {done:,} / {n:,}", file=sys.stderr)


# ----------------------------------------------------------------------------- databases
def prepare(url: str) -> None:
    from minxin.categories import service as categories_service
    from minxin.db.migrate import upgrade
    from minxin.db.session import Database
    from minxin.demo.organisation import create_organisation
    from minxin.units import service as units_service

    upgrade(url)
    db = Database(url)
    with db.unit_of_work() as session:
        create_organisation(session, password="bench-123456", now=datetime.now(UTC))
        categories_service.load_default_tree(session)
        for code, name, kind, parent, region in organisation()[0]:
            units_service.create_unit(session, code=code, name=name, kind=kind, parent_code=parent, region_code=region)
    db.dispose()


def pg_database(admin_url: str, name: str, *, drop: bool = False) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from minxin.db.session import normalise_url

    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        if not drop:
            conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False)


# ----------------------------------------------------------------------------- measurements
def naive_import_rate(path: Path, sample: int = 20_000) -> float:
    """Rows/s of the per-row core path on the first ``sample`` rows (parse + partial; no database)."""
    ws = official_calendar().working_time_between
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for _, r in zip(range(sample), csv.DictReader(handle), strict=False)]
    started = time.perf_counter()
    for row in rows:
        partial_of(from_row(row), ws)
    return len(rows) / (time.perf_counter() - started)


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def naive_month_counters(session: Any, first: date, last: date) -> dict[str, tuple[int, int, int]]:
    """Per unit (orders, answered, satisfied+basically) straight from the month's raw facts."""
    from sqlalchemy import case, func, select

    from minxin.reports.models import OrderFactRow as F
    from minxin.reports.service import local_range

    a, b = local_range(first, last)
    eff = (F.status.is_(None)) | (F.status.not_in(("merged", "void")))
    stmt = (
        select(F.unit, func.count(), func.sum(case((F.satisfaction.is_not(None), 1), else_=0)),
               func.sum(case((F.satisfaction.in_(("satisfied", "basically_satisfied")), 1), else_=0)))
        .where(F.created_at >= a, F.created_at < b, eff)
        .group_by(F.unit)
    )  # fmt: skip
    return {u: (int(n), int(ans or 0), int(good or 0)) for u, n, ans, good in session.execute(stmt)}


def naive_channel_breakdown(session: Any, first: date, last: date) -> dict[str, int]:
    from sqlalchemy import func, select

    from minxin.reports.models import OrderFactRow as F
    from minxin.reports.service import local_range

    a, b = local_range(first, last)
    eff = (F.status.is_(None)) | (F.status.not_in(("merged", "void")))
    return dict(session.execute(select(F.channel, func.count()).where(F.created_at >= a, F.created_at < b, eff).group_by(F.channel)).all())


def bench_backend(kind: str, url: str, csv_path: Path, n: int, repeat: int, *, reuse: bool = False) -> dict[str, Any]:
    """Import (unless ``reuse``: the database already holds the file) and time the reports."""
    from minxin.accounts import repository as accounts_repository
    from minxin.accounts import service as accounts_service
    from minxin.accounts import tokens
    from minxin.config import Settings
    from minxin.main import build_state, create_app
    from minxin.reports import report, service
    from minxin.reports.importer import ImportOptions, run_import

    out: dict[str, Any] = {"backend": kind, "orders": n}
    if not reuse:
        print(f"[{kind}] preparing {url.split('@')[-1]}", file=sys.stderr)
        prepare(url)
    settings = Settings(database_url=url, auto_migrate=False, worker_enabled=False, data_dir=Path(tempfile.mkdtemp()),
                        secret_key="bench-secret-key-0123456789-abcdefghijkl")  # fmt: skip
    state = build_state(settings)
    progress_at = [0.0]

    def progress(done: int, total: int | None, stage: str) -> None:
        if time.perf_counter() - progress_at[0] > 15:
            progress_at[0] = time.perf_counter()
            print(f"  [{kind}] {stage}: {done:,}{'/' + format(total, ',') if total else ''}", file=sys.stderr)

    if not reuse:
        result = run_import(state.db, csv_path, ImportOptions(), now=datetime.now(UTC), progress=progress)
        assert result.ok, result.rejected[:5]
        out["import_seconds"], out["import_rate"] = result.seconds, result.rate
    first, last = service.month_bounds(MONTH)
    with state.db.reading() as session:
        config, _, _ = service.current_config(session)
        scope = service.system_scope(session)
        card = timed(lambda: report.scorecard(session, scope, first, last, config, as_of=datetime.now(UTC)), repeat)
        gd = service.system_scope(session, "GDGS")
        card_gd = timed(lambda: report.scorecard(session, gd, first, last, config, as_of=datetime.now(UTC)), repeat)
        naive = timed(lambda: naive_month_counters(session, first, last), max(1, repeat // 2))
        raw = naive_month_counters(session, first, last)
        cells = service.summed(session, scope, first, last, group_by="unit", with_hist=False)
        agree = all((p.orders, p.answered, p.satisfied + p.basically_satisfied) == raw.get(u, (0, 0, 0)) for u, p in cells.items())
        out["scorecard"] = {"median_s": statistics.median(card), "max_s": max(card), "unit_leader_median_s": statistics.median(card_gd),
                            "naive_raw_facts_s": statistics.median(naive), "agrees_with_raw": agree and len(raw) == len(cells)}  # fmt: skip
        naive_ch = timed(lambda: naive_channel_breakdown(session, first, last), max(1, repeat // 2))
        with state.db.unit_of_work() as w:
            users = {}
            for name, unit in (("bench_leader", "12345"), ("bench_gd_leader", "GDGS")):
                u = accounts_repository.get_by_username(w, name) or accounts_service.create_user(
                    w, username=name, password="bench-123456", role="leader", unit_code=unit, now=datetime.now(UTC))
                w.flush()
                users[name] = (u.id, u.token_version)
    out["dashboard"] = dashboard_latency(state, users, repeat, create_app, tokens)
    out["dashboard"]["naive_channel_from_raw_s"] = statistics.median(naive_ch)
    state.db.dispose()
    return out


def dashboard_latency(state: Any, users: dict[str, tuple[int, int]], repeat: int, create_app: Any, tokens: Any) -> dict[str, Any]:
    import httpx
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(state=state), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    year = {"from": "2025-11-01", "to": "2026-10-31"}
    month = {"from": first.isoformat(), "to": last.isoformat()}
    light = "volume,satisfaction_rate_fair,on_time_completion_rate"
    calls = [
        ("trend (12 months by month)", "/api/v1/stats/kpis", year | {"group_by": "month", "kpis": light}),
        ("month total, every KPI", "/api/v1/stats/kpis", month),
        ("by channel", "/api/v1/stats/kpis", month | {"group_by": "channel"}),
        ("by appeal type", "/api/v1/stats/kpis", month | {"group_by": "appeal_type"}),
        ("by category", "/api/v1/stats/kpis", month | {"group_by": "category", "kpis": light}),
        ("by unit, every KPI", "/api/v1/stats/kpis", month | {"group_by": "unit"}),
        ("by day", "/api/v1/stats/kpis", month | {"group_by": "day", "kpis": light}),
        ("scorecard", "/api/v1/stats/scorecard", {"month": MONTH}),
        ("partial month by channel (10-08…10-21)", "/api/v1/stats/kpis", {"from": "2026-10-08", "to": "2026-10-21", "group_by": "channel"}),
        ("dashboard page (HTML)", "/dashboard", {"month": MONTH}),
    ]
    out: dict[str, Any] = {"calls": {}}
    everything = []
    for user in users:
        uid, ver = users[user]
        token = tokens.issue(secret=state.secret_key, user_id=uid, token_version=ver, now=datetime.now(UTC), ttl_minutes=600)
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, cookies={"minxin_session": token}, timeout=120)
        for label, path, params in calls:
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path, params=params)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, (label, response.status_code, response.text[:300])
            everything += times
            out["calls"][f"{user}: {label}"] = {"p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * _p95(times)}
        client.close()
    out["p95_ms"], out["p50_ms"] = 1000 * _p95(everything), 1000 * statistics.median(everything)
    server.should_exit = True
    thread.join(timeout=10)
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.01, help="fraction of 10 million orders (default 0.01)")
    parser.add_argument("--db", choices=("both", "postgresql", "sqlite"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("MINXIN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "minxin-report-bench")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per dashboard request")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--reuse", metavar="URL", help="time the reports on a database kept by --keep (no import)")
    args = parser.parse_args()
    n = max(1000, int(FULL * args.scale))
    args.workdir.mkdir(parents=True, exist_ok=True)
    csv_path = args.workdir / f"history-{n}.csv"
    if not csv_path.exists():
        started = time.perf_counter()
        generate(csv_path.with_suffix(".tmp"), n)
        csv_path.with_suffix(".tmp").rename(csv_path)
        print(f"generated {n:,} orders ({csv_path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    naive_rate = naive_import_rate(csv_path)
    results = {"orders": n, "csv_bytes": csv_path.stat().st_size, "naive_core_rows_per_s": naive_rate,
               "load_average": os.getloadavg(), "runs": []}  # fmt: skip
    if args.reuse:
        kind = "postgresql" if args.reuse.startswith("postgres") else "sqlite"
        results["runs"].append(bench_backend(kind, args.reuse, csv_path, n, args.repeat, reuse=True))
        report_results(results)
        return
    backends = ("postgresql", "sqlite") if args.db == "both" else (args.db,)
    for kind in backends:
        if kind == "postgresql":
            name = f"minxin_bench_{os.getpid()}"
            url = pg_database(args.pg_url, name)
        else:
            db_file = args.workdir / f"bench-{n}-{os.getpid()}.db"
            url = f"sqlite:///{db_file}"
        try:
            results["runs"].append(bench_backend(kind, url, csv_path, n, args.repeat))
        finally:
            if not args.keep:
                if kind == "postgresql":
                    pg_database(args.pg_url, name, drop=True)
                else:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    results["load_average_after"] = os.getloadavg()
    report_results(results)
    (args.workdir / f"results-{n}.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


def report_results(results: dict[str, Any]) -> None:
    print(f"\n{results['orders']:,} orders, CSV {results['csv_bytes'] / 1e9:.2f} GB; "
          f"per-row core path (naive reference): {results['naive_core_rows_per_s']:,.0f} rows/s")  # fmt: skip
    for run in results["runs"]:
        card, dash = run["scorecard"], run["dashboard"]
        print(f"\n== {run['backend']} ==")
        if "import_rate" in run:
            print(f"import: {run['import_seconds']:.1f} s = {run['import_rate']:,.0f} orders/s "
                  f"({run['import_rate'] / results['naive_core_rows_per_s']:.1f}× the per-row core path)")  # fmt: skip
        print(f"monthly scorecard {MONTH}, every unit: median {card['median_s'] * 1000:.0f} ms, max {card['max_s'] * 1000:.0f} ms; "
              f"one company's subtree {card['unit_leader_median_s'] * 1000:.0f} ms; "
              f"naive GROUP BY over raw facts {card['naive_raw_facts_s'] * 1000:.0f} ms "
              f"({card['naive_raw_facts_s'] / card['median_s']:.1f}×); counters agree: {card['agrees_with_raw']}")  # fmt: skip
        print(f"dashboard API: p50 {dash['p50_ms']:.0f} ms, p95 {dash['p95_ms']:.0f} ms over all calls; "
              f"naive channel breakdown from raw facts {dash['naive_channel_from_raw_s'] * 1000:.0f} ms")  # fmt: skip
        for label, t in dash["calls"].items():
            print(f"  {label:<55} p50 {t['p50_ms']:7.1f} ms   p95 {t['p95_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
