"""``minxin calendar due|check|import|export`` and ``minxin sla policies``, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MINXIN = [sys.executable, "-m", "minxin"]


def run(*args: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MINXIN_DATABASE_URL"}
    result = subprocess.run([*MINXIN, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == code, result.stdout + result.stderr
    return result


def test_due_prints_iso_with_offset_and_lands_on_the_makeup_saturday(tmp_path: Path) -> None:
    result = run("calendar", "due", "2026-02-13T16:00+08:00", "1wd", cwd=tmp_path)
    assert result.stdout == "2026-02-14T17:30:00+08:00\n" and result.stderr == ""
    assert run("calendar", "due", "2026-02-13T11:00", "2wh", cwd=tmp_path).stdout.strip() == "2026-02-13T14:30:00+08:00"
    assert run("calendar", "due", "2026-02-13T23:50+08:00", "30m", cwd=tmp_path).stdout.strip() == "2026-02-14T00:20:00+08:00"
    assert not (tmp_path / "minxin.db").exists()  # a question creates no database


def test_due_into_a_year_without_schedule_warns_on_stderr(tmp_path: Path) -> None:
    result = run("calendar", "due", "2026-12-31T10:00+08:00", "3wd", cwd=tmp_path)
    assert result.stdout.strip() == "2027-01-05T17:30:00+08:00"
    assert "WARNING" in result.stderr and "2027" in result.stderr


def test_check_names_the_holiday_or_says_there_is_no_schedule(tmp_path: Path) -> None:
    holiday = run("calendar", "check", "2026-10-03", cwd=tmp_path)
    assert "not a working day" in holiday.stdout and "国庆节" in holiday.stdout
    makeup = run("calendar", "check", "2026-02-14", cwd=tmp_path)
    assert "working day" in makeup.stdout and "调休" in makeup.stdout
    weekend = run("calendar", "check", "2026-03-07", cwd=tmp_path)
    assert "weekend" in weekend.stdout
    unknown = run("calendar", "check", "2027-03-01", cwd=tmp_path)
    assert "no official schedule for this year" in unknown.stdout and "WARNING" in unknown.stderr
    assert run("calendar", "check", "2026-02-30", cwd=tmp_path, code=2).stderr


def test_bad_input_exits_2(tmp_path: Path) -> None:
    assert "invalid duration" in run("calendar", "due", "2026-02-13", "1.5wd", cwd=tmp_path, code=2).stderr
    assert "invalid instant" in run("calendar", "due", "tomorrow", "1wd", cwd=tmp_path, code=2).stderr
    assert "Unknown unit" in run("calendar", "due", "2026-02-13", "1wd", "--unit", "X", cwd=tmp_path, code=2).stderr


def test_import_makes_a_year_official(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cal.db'}"
    csv = tmp_path / "2027.csv"
    csv.write_text("date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,holiday,春节\n2027-02-07,workday,春节\n", encoding="utf-8")
    assert "Imported 3 days for 2027" in run("calendar", "import", str(csv), "--db", db, cwd=tmp_path).stdout
    check = run("calendar", "check", "2027-01-01", "--db", db, cwd=tmp_path)
    assert "holiday 元旦" in check.stdout and "WARNING" not in check.stdout + check.stderr
    assert "make-up working day" in run("calendar", "check", "2027-02-07", "--db", db, cwd=tmp_path).stdout
    due = run("calendar", "due", "2026-12-31T10:00+08:00", "1wd", "--db", db, cwd=tmp_path)
    assert due.stdout.strip() == "2027-01-04T17:30:00+08:00" and due.stderr == ""
    exported = run("calendar", "export", "--db", db, cwd=tmp_path).stdout
    assert exported.splitlines()[1:] == ["2027-01-01,holiday,元旦", "2027-02-06,holiday,春节", "2027-02-07,workday,春节"]
    bad = tmp_path / "bad.csv"
    bad.write_text("2027-13-01,holiday\n", encoding="utf-8")
    assert "line 1" in run("calendar", "import", str(bad), "--db", db, cwd=tmp_path, code=2).stderr


def test_sla_policies_lists_and_seeds(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    listed = run("sla", "policies", "--db", db, cwd=tmp_path).stdout
    assert "emergency-power" in listed and "(package)" in listed
    seeded = run("sla", "policies", "--seed", "--db", db, cwd=tmp_path)
    assert "seeded 12 policies" in seeded.stderr and "(database)" in seeded.stdout
    assert '"warning": 0' in run("sla", "scan", "--db", db, cwd=tmp_path).stdout
