"""Routing decisions: precedence (category depth, region depth, priority, id), validity dates,
inactive rules and units, runners-up, explanations, and the append-only change history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from minxin.db.session import Database
from minxin.errors import DomainError
from minxin.routing import defaults, repository, service

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
DAY = date(2026, 11, 26)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def add(db: Database, category: str, region: str, unit: str, why: str = "", **extra: object) -> int:
    with db.unit_of_work() as session:
        rule = service.create_rule(
            session, {"category_code": category, "region_code": region, "unit_code": unit, **extra}, by="admin", now=NOW,
            why=why,
        )
        return rule.id


def route(db: Database, category: str | None, region: str | None, on: date = DAY) -> service.RoutingDecision:
    with db.reading() as session:
        return service.route(session, category, region, on)


def test_most_specific_category_then_region_then_priority_then_id(db: Database) -> None:
    any_rule = add(db, "", "", "CGJ")
    level1 = add(db, "08", "", "SWJT")
    level2_city = add(db, "0801", "2101", "GDGS")
    level2_county = add(db, "0801", "210115", "GD-LZ")
    # a leaf category rule beats every level-2 rule, whatever the region
    leaf_anywhere = add(db, "080104", "", "GD-XM")

    decision = route(db, "080101", "210115001")  # 停电 in a township of 辽中区
    assert decision.unit == "GD-LZ" and decision.rule is not None and decision.rule.id == level2_county
    assert [r.id for r in decision.runners_up] == [level2_city, level1, any_rule]
    assert route(db, "080101", "210181").unit == "GDGS"  # another county: the city rule
    assert route(db, "080101", "2105").unit == "SWJT"  # outside Shenyang: level 1
    assert route(db, "080104", "210115").rule.id == leaf_anywhere  # type: ignore[union-attr]
    assert route(db, "0101", "210115").unit == "CGJ"  # no category rule: the any rule
    assert route(db, None, None).unit == "CGJ"

    low = add(db, "0802", "2101", "SWJT", priority=1)
    high = add(db, "0802", "2101", "GDGS", priority=5)
    assert route(db, "080201", "210102").rule.id == high  # type: ignore[union-attr]
    same = add(db, "0802", "2101", "CGJ", priority=5)  # equal priority: the older rule wins
    decision = route(db, "080201", "210102")
    assert decision.rule.id == high and [r.id for r in decision.runners_up][:2] == [same, low]  # type: ignore[union-attr]


def test_validity_dates_inactive_rules_and_units(db: Database) -> None:
    add(db, "0801", "2101", "GDGS")
    winter = add(db, "0801", "210115", "GD-LZ", valid_from=date(2026, 11, 1), valid_to=date(2027, 3, 31))
    assert route(db, "080101", "210115", date(2026, 10, 31)).unit == "GDGS"
    assert route(db, "080101", "210115", date(2026, 11, 1)).rule.id == winter  # type: ignore[union-attr]
    assert route(db, "080101", "210115", date(2027, 3, 31)).unit == "GD-LZ"  # inclusive
    assert route(db, "080101", "210115", date(2027, 4, 1)).unit == "GDGS"
    with db.unit_of_work() as session:
        service.deactivate_rule(session, winter, by="admin", now=NOW, why="停用测试")
    assert route(db, "080101", "210115").unit == "GDGS"
    with db.unit_of_work() as session:
        service.update_rule(session, winter, {"active": True}, by="admin", now=NOW)
        session.execute(text("UPDATE units SET active = false WHERE code = 'GD-LZ'"))
    assert route(db, "080101", "210115").unit == "GDGS"  # the rule's unit is inactive


def test_no_match_explains_itself(db: Database) -> None:
    add(db, "0801", "2101", "GDGS")
    decision = route(db, "050101", "210521")
    assert decision.unit is None and decision.rule is None and decision.runners_up == []
    assert "没有匹配的派单规则" in decision.explanation_zh and "本溪满族自治县" in decision.explanation_zh


def test_explanation_names_rule_unit_and_runners_up(db: Database) -> None:
    with db.unit_of_work() as session:
        assert defaults.seed_defaults(session, NOW) > 20
        assert defaults.seed_defaults(session, NOW) == 0  # only into an empty table
    decision = route(db, "080101", "210115")
    assert decision.unit == "GD-LZ"
    text_ = decision.explanation_zh
    assert "电力供应" in text_ and "沈阳市辽中区" in text_ and "国网辽中区供电分公司" in text_
    assert "备选" in text_ and "国网沈阳供电公司" in text_
    data = decision.to_dict()
    assert data["code"] == "GD-LZ" and data["rule"]["region_code"] == "210115"
    assert [r["code"] for r in data["runners_up"]] == ["GDGS", "QX-LZ"]


def test_validation_and_history(db: Database) -> None:
    for bad, code in (
        ({"category_code": "nope", "unit_code": "CGJ"}, "category.not_found"),
        ({"region_code": "21x", "unit_code": "CGJ"}, "routing.bad_region"),
        ({"region_code": "210", "unit_code": "CGJ"}, "routing.bad_region"),
        ({"unit_code": "NOPE"}, "unit.not_found"),
        ({"unit_code": "12345"}, "routing.bad_unit"),
        ({"unit_code": "CGJ", "valid_from": date(2027, 1, 2), "valid_to": date(2027, 1, 1)}, "routing.bad_dates"),
    ):
        with pytest.raises(DomainError) as err, db.unit_of_work() as session:
            service.create_rule(session, bad, by="admin", now=NOW)
        assert err.value.code == code and err.value.status_code == 422
    rule_id = add(db, "0103", "", "CGJ", note="城管执法职责清单", why="初始")
    with db.unit_of_work() as session:
        service.update_rule(session, rule_id, {"priority": 3, "note": "城管执法职责清单"}, by="admin2", now=NOW, why="调高")
        service.update_rule(session, rule_id, {"priority": 3}, by="admin2", now=NOW, why="no-op")
        service.deactivate_rule(session, rule_id, by="admin3", now=NOW, why="职责调整")
    with db.reading() as session:
        rule = service.get_rule(session, rule_id)
        history = rule["history"]
    assert [h["action"] for h in history] == ["create", "update", "deactivate"]
    assert history[0]["why"] == "初始" and history[0]["changes"]["unit_code"]["to"] == "CGJ"
    assert history[1]["changes"] == {"priority": {"from": 0, "to": 3}} and history[1]["by"] == "admin2"
    assert history[2]["why"] == "职责调整" and rule["active"] is False and rule["edited_by"] == "admin3"


def test_history_is_append_only(db: Database) -> None:
    add(db, "0103", "", "CGJ")
    with pytest.raises(DBAPIError), db.unit_of_work() as session:
        session.execute(text("UPDATE routing_rule_changes SET why = 'x'"))
    with pytest.raises(DBAPIError), db.unit_of_work() as session:
        session.execute(text("DELETE FROM routing_rule_changes"))
    with db.reading() as session:
        assert repository.count(session) == 1
