"""The lifecycle table, row by row, and every refused pair."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from minxin.core.lifecycle import (
    RULES,
    Facts,
    IllegalTransition,
    fire,
    possible_actions,
    render_markdown,
    replay,
)
from minxin.core.vocabulary import Action, AppealType, Role, Satisfaction, Status

S, A, R = Status, Action, Role


def facts_for(rule_action: Action, outcome: str, role: Role) -> Facts:
    """Facts that satisfy every guard of the row being exercised."""
    return Facts(
        role=role,
        appeal_type=AppealType.CONSULT,
        at_current_unit=True,
        photo_required=False,
        pending_extension=rule_action is A.DECIDE_EXTENSION,
        last_callback_dissatisfied=True,
        reachable=not outcome.startswith("unreachable"),
        satisfaction=Satisfaction.DISSATISFIED if outcome == "dissatisfied" else Satisfaction.SATISFIED,
        unreachable_attempts=2 if outcome == "unreachable_final" else 0,
        max_callback_attempts=3,
        approve=outcome != "rejected",
    )


ROW_CASES = [
    (rule, source, role) for rule in RULES for source in sorted(rule.sources) for role in sorted(rule.roles)
]


@pytest.mark.parametrize(
    ("rule", "source", "role"), ROW_CASES, ids=lambda v: getattr(v, "value", getattr(v, "label_zh", v))
)
def test_every_row_fires(rule, source, role) -> None:
    t = fire(source, rule.action, facts_for(rule.action, rule.outcome, role))
    assert t.from_status is source
    assert t.to_status is (rule.target or source)
    assert t.outcome == rule.outcome


def _row_exists(status: Status, action: Action) -> bool:
    return any(r.action is action and status in r.sources for r in RULES)


REFUSED = [(s, a) for s, a in itertools.product(Status, Action) if not _row_exists(s, a)]


@pytest.mark.parametrize(("status", "action"), REFUSED, ids=str)
def test_refused_pairs_fail_closed_with_409(status: Status, action: Action) -> None:
    for role in Role:
        with pytest.raises(IllegalTransition) as caught:
            fire(status, action, facts_for(action, "", role))
        assert caught.value.refusal.code == "lifecycle.illegal_action"
        assert caught.value.refusal.http_status == 409


def test_refused_pairs_are_many_and_include_the_obvious() -> None:
    refused = set(REFUSED)
    assert (S.CLOSED, A.DISPATCH) in refused
    assert (S.REGISTERED, A.SIGN) in refused
    assert (S.SIGNED, A.SIGN) in refused
    assert (S.VOID, A.REOPEN) in refused
    assert (S.MERGED, A.URGE) in refused


@pytest.mark.parametrize(
    ("status", "action", "role"),
    [
        (S.DISPATCHED, A.SIGN, R.AGENT),
        (S.DISPATCHED, A.SIGN, R.DISPATCHER),
        (S.REGISTERED, A.DISPATCH, R.HANDLER),
        (S.REPLIED, A.CALLBACK, R.HANDLER),
        (S.REPLIED, A.REOPEN, R.LEADER),
        (S.SIGNED, A.REPLY, R.SUPERVISOR),
        (S.REGISTERED, A.VOID, R.AGENT),
        (S.SIGNED, A.NOTE, R.LEADER),
    ],
)
def test_wrong_role_is_403(status: Status, action: Action, role: Role) -> None:
    with pytest.raises(IllegalTransition) as caught:
        fire(status, action, facts_for(action, "", role))
    assert caught.value.refusal.code == "lifecycle.role_forbidden"
    assert caught.value.refusal.http_status == 403


GUARDS = [
    (
        "handler of another unit",
        S.DISPATCHED,
        A.SIGN,
        Facts(role=R.HANDLER, at_current_unit=False),
        "lifecycle.not_your_unit",
    ),
    (
        "complaint cannot be answered directly",
        S.REGISTERED,
        A.ANSWER,
        Facts(role=R.AGENT, appeal_type=AppealType.COMPLAINT),
        "lifecycle.not_direct_answerable",
    ),
    (
        "photo required",
        S.SIGNED,
        A.REPLY,
        Facts(role=R.HANDLER, at_current_unit=True, photo_required=True),
        "order.photo_required",
    ),
    (
        "second extension while one pending",
        S.SIGNED,
        A.REQUEST_EXTENSION,
        Facts(role=R.HANDLER, at_current_unit=True, pending_extension=True),
        "order.extension_pending",
    ),
    (
        "decide without request",
        S.SIGNED,
        A.DECIDE_EXTENSION,
        Facts(role=R.SUPERVISOR),
        "order.no_pending_extension",
    ),
    (
        "reopen a satisfied order",
        S.CLOSED,
        A.REOPEN,
        Facts(role=R.SUPERVISOR, last_callback_dissatisfied=False),
        "order.reopen_needs_dissatisfied",
    ),
]


@pytest.mark.parametrize(("name", "status", "action", "facts", "code"), GUARDS, ids=[g[0] for g in GUARDS])
def test_guards_refuse(name: str, status: Status, action: Action, facts: Facts, code: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        fire(status, action, facts)
    assert caught.value.refusal.code == code


def test_photo_present_satisfies_the_guard() -> None:
    t = fire(
        S.SIGNED,
        A.REPLY,
        Facts(role=R.HANDLER, at_current_unit=True, photo_required=True, reply_has_photo=True),
    )
    assert t.to_status is S.REPLIED


@pytest.mark.parametrize(
    ("satisfaction", "reachable", "attempts", "to"),
    [
        (Satisfaction.SATISFIED, True, 0, S.CLOSED),
        (Satisfaction.BASICALLY_SATISFIED, True, 0, S.CLOSED),
        (Satisfaction.DISSATISFIED, True, 0, S.REPLIED),
        (None, False, 0, S.REPLIED),
        (None, False, 1, S.REPLIED),
        (None, False, 2, S.CLOSED),
    ],
)
def test_callback_outcomes(satisfaction, reachable: bool, attempts: int, to: Status) -> None:
    facts = Facts(
        role=R.SUPERVISOR,
        reachable=reachable,
        satisfaction=satisfaction,
        unreachable_attempts=attempts,
        max_callback_attempts=3,
    )
    assert fire(S.REPLIED, A.CALLBACK, facts).to_status is to


def test_possible_actions_drive_buttons() -> None:
    mine = Facts(role=R.HANDLER, at_current_unit=True)
    assert possible_actions(S.DISPATCHED, mine)[:3] == [A.DISPATCH, A.SIGN, A.RETURN]
    assert possible_actions(S.DISPATCHED, Facts(role=R.HANDLER, at_current_unit=False)) == [A.NOTE]
    assert A.DISPATCH in possible_actions(S.REGISTERED, Facts(role=R.DISPATCHER))
    assert possible_actions(S.CLOSED, Facts(role=R.LEADER, at_current_unit=True)) == []
    assert possible_actions(S.CLOSED, Facts(role=R.SUPERVISOR)) == [A.NOTE]
    assert possible_actions(S.CLOSED, Facts(role=R.SUPERVISOR, last_callback_dissatisfied=True)) == [
        A.REOPEN,
        A.NOTE,
    ]
    assert A.ANSWER not in possible_actions(S.REGISTERED, Facts(role=R.AGENT, appeal_type=AppealType.REPAIR))
    assert A.REPLY in possible_actions(
        S.SIGNED, Facts(role=R.HANDLER, at_current_unit=True, photo_required=True)
    )


def test_replay_accepts_a_legal_history_and_names_an_illegal_step() -> None:
    history = [
        (A.DISPATCH, "", S.REGISTERED, S.DISPATCHED),
        (A.SIGN, "", S.DISPATCHED, S.SIGNED),
        (A.REPLY, "", S.SIGNED, S.REPLIED),
        (A.CALLBACK, "dissatisfied", S.REPLIED, S.REPLIED),
        (A.REOPEN, "", S.REPLIED, S.DISPATCHED),
    ]
    assert replay(history) is S.DISPATCHED
    with pytest.raises(ValueError, match="event 1"):
        replay([(A.DISPATCH, "", S.REGISTERED, S.DISPATCHED), (A.REPLY, "", S.DISPATCHED, S.REPLIED)])


def test_docs_lifecycle_is_generated_from_the_table() -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "lifecycle.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(), "run `minxin docs lifecycle`"
