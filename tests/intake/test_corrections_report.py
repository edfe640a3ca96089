"""People's corrections of suggestions are recorded on the suggestion (classify, a dispatch to
another unit, a transfer after an auto-dispatch, a return) and show in the monthly report,
over the API and in ``minxin model report``."""

from __future__ import annotations

import json
from typing import Any

import httpx
from typer.testing import CliRunner

from minxin.intake.model_cli import app as model_app
from minxin.jobs.registry import run_once
from tests.helpers import act, new_order
from tests.intake.intake_support import activate, seed_routing, small_model

__all__ = ["small_model"]

POWER = {"title": "家里停电了", "content": "辽中区茨榆坨镇于家村停电，至今没有来电", "address": "沈阳市辽中区茨榆坨镇于家村"}


def intake_of(client: httpx.Client, number: str) -> dict[str, Any]:
    return client.get(f"/api/v1/orders/{number}").json()["intake"]


def test_corrections_are_recorded_and_reported(as_user, state, small_model) -> None:
    seed_routing(state)
    activate(state, small_model, threshold=0.5)
    agent, dispatcher = as_user("agent"), as_user("dispatcher")

    # A: auto-dispatched to GD-LZ, then transferred (改派) by a dispatcher → unit corrected
    a = new_order(agent, channel="web", category=None, **POWER)["number"]
    # B: the agent picked another category than the model's top suggestion → corrected at intake
    b = new_order(agent, channel="phone", category="010102", **POWER)["number"]
    # C: reclassified and sent elsewhere before the job ran → category and unit corrected
    c = new_order(agent, channel="app", category=None, **POWER)["number"]
    act(dispatcher, c, "classify", {"category": "080301", "note": "其实是暖气"})
    act(dispatcher, c, "dispatch", {"unit": "RLJT"})
    # D: the dispatcher sent it to a station below the suggested unit → accepted
    d = new_order(agent, channel="web", category=None, **POWER)["number"]
    act(dispatcher, d, "dispatch", {"unit": "GD-LZ-CZ"})

    assert run_once(state, "intake.autodispatch") == {"done": 1}
    act(dispatcher, a, "dispatch", {"unit": "QX-LZ", "note": "属地政府处理"})

    ia, ib, ic, id_ = (intake_of(dispatcher, n) for n in (a, b, c, d))
    assert ia["dispatch_state"] == "done" and ia["outcome"]["unit"] == "corrected"
    assert ia["outcome"]["unit_corrected_by"] == "dispatcher" and ia["outcome"]["final_unit"] == "QX-LZ"
    assert ia["outcome"]["category"] == "pending"
    assert ib["outcome"]["category"] == "corrected" and ib["outcome"]["category_corrected_by"] == "agent"
    assert ib["unit"]["code"] == "QX-LZ"  # routed on the agent's category (市政设施 in 辽中区)
    assert ic["dispatch_state"] == "skipped" and ic["outcome"]["category"] == "corrected"
    assert ic["outcome"]["final_category"] == "080301" and ic["outcome"]["unit"] == "corrected"
    assert id_["dispatch_state"] == "skipped" and id_["outcome"]["unit"] == "accepted"

    report = as_user("supervisor").get("/api/v1/intake/report")
    assert report.status_code == 200, report.text
    total = report.json()["months"][-1]
    assert total["month"] == "total"
    expected = {
        "analysed": 4, "with_model": 4, "accuracy": 0.5, "reviewed": 2, "reviewed_accuracy": 0.0,
        "category_corrections": 2, "unit_suggested": 4, "unit_corrections": 2, "auto_dispatched": 1,
        "coverage": 0.25, "auto_dispatch_corrected": 1, "correction_rate": 0.75,
    }
    assert {k: total[k] for k in expected} == expected
    assert as_user("agent").get("/api/v1/intake/report").status_code == 403

    result = CliRunner().invoke(model_app, ["report", "--json", "--db", state.settings.database_url])
    assert result.exit_code == 0, result.output
    cli_total = json.loads(result.stdout)["months"][-1]
    assert {k: cli_total[k] for k in expected} == expected
    table = CliRunner().invoke(model_app, ["report", "--db", state.settings.database_url])
    assert table.exit_code == 0 and "25.0%" in table.stdout and "75.0%" in table.stdout


def test_returns_and_refused_returns(as_user, state, small_model) -> None:
    seed_routing(state)
    activate(state, small_model, threshold=0.5)
    number = new_order(as_user("agent"), channel="web", category=None, **POWER)["number"]
    assert run_once(state, "intake.autodispatch") == {"done": 1}
    act(as_user("lz_handler"), number, "return", {"reason": "不属于本单位"})
    assert intake_of(as_user("dispatcher"), number)["outcome"]["unit"] == "corrected"
    act(as_user("dispatcher"), number, "review_return", {"approve": False, "note": "确属供电问题"})
    outcome = intake_of(as_user("dispatcher"), number)["outcome"]
    assert outcome["unit"] == "accepted"


def test_lowering_a_raised_urgency_is_a_correction(as_user, state) -> None:
    number = new_order(as_user("agent"), title="独居老人家中停电", content="家里有独居老人，停电后没有取暖")["number"]
    act(as_user("dispatcher"), number, "classify", {"urgency": "normal", "note": "已有人照看"})
    assert intake_of(as_user("dispatcher"), number)["outcome"]["urgency_corrected"] is True
    total = as_user("admin").get("/api/v1/intake/report").json()["months"][-1]
    assert total["urgency_raised"] == 1 and total["urgency_corrected"] == 1
