"""Shared pieces of the intake tests: a small classifier trained once per session, and
helpers to seed the demo routing rules and register/activate the model in a test database.

Import the fixtures explicitly (``from tests.intake.intake_support import small_model``) so
they stay next to the tests that use them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from minxin.api.state import AppState
from minxin.intake import duplicate_store, model_registry
from minxin.intake.classifier import train
from minxin.routing import defaults as routing_defaults

#: label paths of the default category tree → short appeals (written for these tests)
TRAINING: dict[str, list[str]] = {
    "公用事业/电力供应/停电": [
        "家里突然停电了", "小区停电一整天", "村里停电至今没来电", "停电很久了请抢修", "整条街都停电了",
        "晚上停电没有电用", "镇上大面积停电", "停电后一直没有恢复供电", "楼里停电电梯也停了", "停电好几个小时",
    ],
    "公用事业/供暖/供暖温度": [
        "暖气不热室温很低", "供暖温度不达标", "家里暖气片冰凉", "暖气不热孩子冻感冒", "室温只有十度暖气不热",
        "供暖期暖气一直不热", "暖气温度太低", "楼上暖气热我家不热", "暖气时热时不热", "供暖不达标要求退费",
    ],
    "劳动和社会保障/劳动关系/拖欠工资": [
        "老板拖欠工资不给", "公司拖欠三个月工资", "工地拖欠农民工工资", "讨薪无果拖欠工资", "拖欠工资半年了",
        "单位欠薪不发工资", "包工头拖欠工钱", "工资被拖欠要求支付", "企业拖欠员工工资", "年底工资还没发",
    ],
    "城乡建设/市政设施/路灯照明": [
        "小区门口路灯不亮", "路灯坏了很久没修", "晚上路灯不亮很黑", "街边路灯一直不亮", "路灯损坏请维修",
        "这条路路灯全灭了", "路灯白天亮晚上不亮", "新修的路没有路灯", "路灯杆倒了灯不亮", "路灯闪烁不亮",
    ],
    "交通运输/公共交通/公交线路": [
        "公交车不按站停车", "建议增开公交线路", "公交线路调整不方便", "公交车班次太少", "公交车司机态度差",
        "公交站点太远", "希望延长公交运营时间", "公交车拥挤班次少", "公交线路取消了", "末班公交太早",
    ],
}

LIAONING = {
    "本溪满族自治县": "210521",
    "桓仁满族自治县": "210522",
    "沈阳市辽中区": "210115",
    "新民市": "210181",
    "康平县": "210123",
    "法库县": "210124",
}


def training_rows() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, items in TRAINING.items():
        texts += items
        labels += [label] * len(items)
    return texts, labels


@pytest.fixture(scope="session")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A five-class model file (trained once per test session, a second or two).

    Its classes are perfectly separable, so a fitted temperature would make every confidence
    1.0; like the demo model it gets a fixed one instead, so the tests can be unsure too."""
    texts, labels = training_rows()
    model = train(
        texts, labels, created_at=datetime(2026, 11, 1, tzinfo=UTC), calibration_folds=0,
        extra_metadata={"minxin_text": "title+content"},
    )
    model.temperature = 0.25
    return model.save(tmp_path_factory.mktemp("models") / "small.model.zip")


def seed_routing(state: AppState) -> int:
    with state.db.unit_of_work() as session:
        return routing_defaults.seed_defaults(session, now=state.clock.now())


def activate(state: AppState, model_file: Path, *, threshold: float = 0.5) -> str:
    with state.db.unit_of_work() as session:
        row = model_registry.register(
            session, model_file, by="test", now=state.clock.now(), models_dir=state.settings.models_dir,
            activate=True, default_threshold=threshold,
        )
        version = row.version
    model_registry.invalidate()
    return version


def wait_for_index(state: AppState) -> duplicate_store.Holder:
    """Build the duplicate index now (tests need it ready before asking for duplicates)."""
    holder = duplicate_store.ensure(state.db, state.clock.now(), wait=True)
    deadline = time.monotonic() + 30
    while holder.state != "ready" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert holder.state == "ready", holder.info()
    return holder
