"""``minxin model train|eval|register|activate|list|thresholds|report`` on a small CSV written
here, the activated model used by analysis, errors with exit status 2, the demo model, and
(``data``) train/eval on the real Teddy Cup titles."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from minxin.intake import demo_model, model_registry
from minxin.intake.model_cli import app
from tests.conftest import shared_data
from tests.intake.intake_support import TRAINING

runner = CliRunner()


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["留言主题", "一级分类", "二级分类", "三级分类"])
        for text, label in rows:
            writer.writerow([text, *label.split("/")])
    return path


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_train_eval_register_activate_thresholds(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINXIN_DATA_DIR", str(tmp_path / "var"))
    rows = [(text, label) for label, texts in TRAINING.items() for text in texts]
    data = write_csv(tmp_path / "history.csv", rows)
    labels = "一级分类,二级分类,三级分类"
    summary = json.loads(invoke("train", str(data), "--text-col", "留言主题", "--label-col", labels, "--out", str(tmp_path / "m.zip")))
    assert summary["classes"] == 5 and summary["depth"] == 3 and summary["rows"] == len(rows)
    report = json.loads(invoke("eval", str(data), "--model", str(tmp_path / "m.zip"), "--text-col", "留言主题", "--label-col", labels))
    assert report["n"] == len(rows) and report["accuracy"] > 0.9 and set(report["levels"]) == {"1", "2", "3"}

    registered = json.loads(invoke("register", str(tmp_path / "m.zip"), "--threshold", "0.7", "--db", db_url))
    version = registered["version"]
    assert registered["active"] is False and registered["default_threshold"] == 0.7
    assert Path(registered["path"]) == (tmp_path / "var" / "models" / f"{version}.model.zip").resolve()
    assert registered["training"]["n_rows"] == len(rows) and len(registered["training"]["labels"]) == 5
    active = json.loads(invoke("activate", version, "--db", db_url))
    assert active["active"] is True
    assert "✓" in invoke("list", "--db", db_url)
    changed = json.loads(invoke("thresholds", "--set", "0801=0.95", "--default", "0.6", "--db", db_url))
    assert changed == {"version": version, "default": 0.6, "categories": {"0801": 0.95}}
    assert json.loads(invoke("thresholds", "--set", "0801=", "--db", db_url))["categories"] == {}
    assert json.loads(invoke("report", "--json", "--db", db_url)) == {"months": []}

    from minxin.db.session import Database

    db = Database(db_url)
    try:
        with db.reading() as session:
            model = model_registry.active(session)
            assert model is not None and model.version == version and model.default_threshold == 0.6
    finally:
        db.dispose()


def test_errors_exit_with_status_2(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINXIN_DATA_DIR", str(tmp_path / "var"))
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a model")
    for args in (
        ["register", str(junk), "--db", db_url],
        ["activate", "no-such-version", "--db", db_url],
        ["thresholds", "--default", "0.5", "--db", db_url],  # no active model yet
        ["thresholds", "--set", "0801=high", "--db", db_url],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
    missing = runner.invoke(app, ["train", str(tmp_path / "nope.csv"), "--text-col", "a", "--label-col", "b"])
    assert missing.exit_code == 2


def test_demo_model_is_trained_from_demo_orders_and_activated(state, tmp_path: Path) -> None:
    from minxin.demo.orders import create_orders

    with state.db.unit_of_work() as session:
        create_orders(session, count=40, now=state.clock.now(), attachments_root=tmp_path / "att",
                      settings=state.order_settings)
        row = demo_model.train_demo_model(session, now=state.clock.now(), models_dir=tmp_path / "models")
        assert row is not None and row.active and Path(row.path).is_file()
        assert row.training["source"]["file"] == "demo orders" and row.default_threshold == demo_model.DEMO_THRESHOLD
    from minxin.intake import analyze

    with state.db.reading() as session:
        result = analyze.analyze(session, title="停电", content="辽中区茨榆坨镇停电，一直没来电", address=None, phone=None,
                                 now=state.clock.now(), tz=state.tz, duplicates=False)
        vague = analyze.analyze(session, title="咨询", content="想问一下办事流程", address=None, phone=None,
                                now=state.clock.now(), tz=state.tz, duplicates=False)
    assert result.categories[0].code == "080101" and result.decided is not None
    assert vague.decided is None  # the demo model is not sure of everything


@pytest.mark.data
def test_train_and_eval_on_the_real_titles(tmp_path: Path) -> None:
    source = shared_data() / "teddycup2020c_titles" / "train.csv"
    if not source.is_file():
        pytest.skip("../shared/data is absent")
    with source.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    random.Random(7).shuffle(rows)
    cut = int(len(rows) * 0.8)
    for name, part in (("train.csv", rows[:cut]), ("test.csv", rows[cut:])):
        with (tmp_path / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
    invoke("train", str(tmp_path / "train.csv"), "--text-col", "留言主题", "--label-col", "一级标签", "--out", str(tmp_path / "m.zip"))
    report = json.loads(invoke("eval", str(tmp_path / "test.csv"), "--model", str(tmp_path / "m.zip"),
                               "--text-col", "留言主题", "--label-col", "一级标签"))
    assert report["n"] == len(rows) - cut and report["macro_f1"] > 0.85 and report["top3_accuracy"] > 0.95
