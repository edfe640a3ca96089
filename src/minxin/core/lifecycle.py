"""The work-order lifecycle as one table (DESIGN §3).

The API, the web buttons, the docs (``docs/lifecycle.md``) and the tests all read ``RULES``.
``fire()`` is pure: it decides whether an action is allowed and what status results, and it
raises before anything is written when it is not. The service applies the result.

Invariants:
- an unknown (status, action) pair fails closed (``lifecycle.illegal_action``, HTTP 409);
- a known pair with the wrong role is refused (``lifecycle.role_forbidden``, HTTP 403);
- a rule's ``target`` of ``None`` means the status is unchanged (a record acting on the order:
  urge, extension, co-handling, a note, an unsuccessful callback attempt);
- urges, extensions and suspensions act on deadlines; only suspension is a status, because the
  handling clock pauses while it lasts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from minxin.core.vocabulary import (
    ACTION_ZH,
    DIRECT_ANSWER_TYPES,
    OPEN_STATUSES,
    ROLE_ZH,
    STATUS_ZH,
    Action,
    AppealType,
    Role,
    Satisfaction,
    Status,
)

S = Status
R = Role


@dataclass(frozen=True)
class Facts:
    """What guards may look at. Built by the service from the order, the actor and the payload."""

    role: Role
    appeal_type: AppealType = AppealType.COMPLAINT
    #: the actor's unit subtree contains the unit now holding the order
    at_current_unit: bool = False
    photo_required: bool = False
    reply_has_photo: bool = False
    pending_extension: bool = False
    last_callback_dissatisfied: bool = False
    #: callback payload
    reachable: bool = True
    satisfaction: Satisfaction | None = None
    unreachable_attempts: int = 0
    max_callback_attempts: int = 3
    #: review_return payload
    approve: bool = True


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused: a stable code, an HTTP status and two messages."""

    code: str
    http_status: int
    message_zh: str
    message_en: str


Guard = Callable[[Facts], Refusal | None]


def _at_current_unit(f: Facts) -> Refusal | None:
    if f.role is Role.HANDLER and not f.at_current_unit:
        return Refusal("lifecycle.not_your_unit", 403, "工单不在本单位办理", "The order is not with your unit")
    return None


def _direct_answerable(f: Facts) -> Refusal | None:
    if f.appeal_type not in DIRECT_ANSWER_TYPES:
        return Refusal(
            "lifecycle.not_direct_answerable",
            409,
            "只有咨询、建议、表扬类诉求可直接答复",
            "Only consultations, suggestions and praise can be answered directly",
        )
    return None


def _photo_if_required(f: Facts) -> Refusal | None:
    if f.photo_required and not f.reply_has_photo:
        return Refusal(
            "order.photo_required",
            422,
            "该类别办结时必须上传现场照片",
            "This category requires an on-site photo when replying",
        )
    return None


def _no_pending_extension(f: Facts) -> Refusal | None:
    if f.pending_extension:
        return Refusal("order.extension_pending", 409, "已有待审批的延期申请", "An extension request is already pending")
    return None


def _pending_extension(f: Facts) -> Refusal | None:
    if not f.pending_extension:
        return Refusal("order.no_pending_extension", 409, "没有待审批的延期申请", "No extension request is pending")
    return None


def _dissatisfied(f: Facts) -> Refusal | None:
    if not f.last_callback_dissatisfied:
        return Refusal(
            "order.reopen_needs_dissatisfied",
            409,
            "只有回访不满意的工单才能重办",
            "Only an order with a dissatisfied callback can be reopened",
        )
    return None


@dataclass(frozen=True)
class Rule:
    """One row of the lifecycle: in ``sources``, ``roles`` may do ``action`` (with ``outcome``)."""

    action: Action
    sources: frozenset[Status]
    target: Status | None
    roles: frozenset[Role]
    label_zh: str
    outcome: str = ""
    guards: tuple[Guard, ...] = field(default=())

    def result(self, current: Status) -> Status:
        return self.target if self.target is not None else current


def _rule(
    action: Action,
    sources: Iterable[Status],
    target: Status | None,
    roles: Iterable[Role],
    label_zh: str,
    outcome: str = "",
    guards: tuple[Guard, ...] = (),
) -> Rule:
    return Rule(action, frozenset(sources), target, frozenset(roles), label_zh, outcome, guards)


A = Action
ALL_STATUSES = frozenset(Status)
WORKING = (S.DISPATCHED, S.SIGNED, S.SUSPENDED)

#: The whole lifecycle. Read it top to bottom: it is the main path, then the side paths.
RULES: tuple[Rule, ...] = (
    _rule(A.ANSWER, [S.REGISTERED], S.CLOSED, [R.AGENT, R.DISPATCHER], "直接答复", guards=(_direct_answerable,)),
    _rule(A.DISPATCH, [S.REGISTERED, S.RETURNED], S.DISPATCHED, [R.AGENT, R.DISPATCHER], "派单"),
    _rule(A.DISPATCH, [S.DISPATCHED, S.SIGNED], S.DISPATCHED, [R.DISPATCHER], "改派"),
    _rule(A.DISPATCH, [S.DISPATCHED, S.SIGNED], S.DISPATCHED, [R.HANDLER], "二级派单", guards=(_at_current_unit,)),
    _rule(A.SIGN, [S.DISPATCHED], S.SIGNED, [R.HANDLER], "签收", guards=(_at_current_unit,)),
    _rule(A.RETURN, [S.DISPATCHED, S.SIGNED], S.RETURNED, [R.HANDLER], "退单", guards=(_at_current_unit,)),
    _rule(A.REVIEW_RETURN, [S.RETURNED], S.REGISTERED, [R.DISPATCHER], "同意退单", outcome="approved"),
    _rule(A.REVIEW_RETURN, [S.RETURNED], S.DISPATCHED, [R.DISPATCHER], "驳回退单", outcome="rejected"),
    _rule(A.CO_HANDLE, [S.DISPATCHED, S.SIGNED], None, [R.DISPATCHER, R.HANDLER], "协办", guards=(_at_current_unit,)),
    _rule(
        A.REPLY, [S.SIGNED], S.REPLIED, [R.HANDLER], "办结回复", guards=(_at_current_unit, _photo_if_required)
    ),
    _rule(A.CALLBACK, [S.REPLIED], S.CLOSED, [R.AGENT, R.SUPERVISOR], "回访满意", outcome="satisfied"),
    _rule(A.CALLBACK, [S.REPLIED], None, [R.AGENT, R.SUPERVISOR], "回访不满意", outcome="dissatisfied"),
    _rule(A.CALLBACK, [S.REPLIED], None, [R.AGENT, R.SUPERVISOR], "回访未接通", outcome="unreachable"),
    _rule(A.CALLBACK, [S.REPLIED], S.CLOSED, [R.AGENT, R.SUPERVISOR], "多次未接通归档", outcome="unreachable_final"),
    _rule(A.CLOSE, [S.REPLIED], S.CLOSED, [R.SUPERVISOR], "归档"),
    _rule(A.REOPEN, [S.REPLIED, S.CLOSED], S.DISPATCHED, [R.SUPERVISOR], "重办", guards=(_dissatisfied,)),
    _rule(
        A.REQUEST_EXTENSION,
        WORKING,
        None,
        [R.HANDLER],
        "申请延期",
        guards=(_at_current_unit, _no_pending_extension),
    ),
    _rule(A.DECIDE_EXTENSION, WORKING, None, [R.SUPERVISOR], "延期审批", guards=(_pending_extension,)),
    _rule(A.SUSPEND, [S.SIGNED], S.SUSPENDED, [R.HANDLER], "挂起", guards=(_at_current_unit,)),
    _rule(A.RESUME, [S.SUSPENDED], S.SIGNED, [R.HANDLER, R.SUPERVISOR], "恢复办理", guards=(_at_current_unit,)),
    _rule(A.URGE, OPEN_STATUSES, None, [R.SUPERVISOR, R.LEADER], "督办"),
    _rule(
        A.MERGE,
        [S.REGISTERED, S.DISPATCHED, S.SIGNED, S.RETURNED],
        S.MERGED,
        [R.AGENT, R.DISPATCHER, R.SUPERVISOR],
        "并单",
    ),
    _rule(
        A.VOID,
        [S.REGISTERED, S.DISPATCHED, S.SIGNED, S.RETURNED, S.SUSPENDED],
        S.VOID,
        [R.DISPATCHER, R.SUPERVISOR],
        "作废",
    ),
    _rule(
        A.CLASSIFY,
        [S.REGISTERED, S.DISPATCHED, S.SIGNED, S.RETURNED, S.SUSPENDED],
        None,
        [R.AGENT, R.DISPATCHER, R.SUPERVISOR],
        "修改分类",
    ),
    _rule(
        A.NOTE,
        ALL_STATUSES,
        None,
        [R.AGENT, R.DISPATCHER, R.HANDLER, R.SUPERVISOR],
        "备注",
    ),
)


class IllegalTransition(Exception):
    """Raised by ``fire`` when an action is refused; carries a ``Refusal``."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(f"{refusal.code}: {refusal.message_en}")


@dataclass(frozen=True)
class Transition:
    """What ``fire`` decided: apply it, append an event, nothing else."""

    action: Action
    outcome: str
    label_zh: str
    from_status: Status
    to_status: Status


def outcome_for(action: Action, facts: Facts) -> str:
    """The rule variant an action takes, from its payload facts (callbacks and return reviews)."""
    if action is Action.CALLBACK:
        if not facts.reachable:
            final = facts.unreachable_attempts + 1 >= facts.max_callback_attempts
            return "unreachable_final" if final else "unreachable"
        return "dissatisfied" if facts.satisfaction is Satisfaction.DISSATISFIED else "satisfied"
    if action is Action.REVIEW_RETURN:
        return "approved" if facts.approve else "rejected"
    return ""


def fire(status: Status, action: Action, facts: Facts) -> Transition:
    """Decide an action on an order in ``status``; raise ``IllegalTransition`` if refused."""
    outcome = outcome_for(action, facts)
    candidates = [r for r in RULES if r.action is action and r.outcome == outcome and status in r.sources]
    if not candidates:
        raise IllegalTransition(
            Refusal(
                "lifecycle.illegal_action",
                409,
                f"工单当前状态为「{STATUS_ZH[status]}」，不能执行「{ACTION_ZH[action]}」",
                f"Action '{action}' is not allowed when the order is '{status}'",
            )
        )
    permitted = [r for r in candidates if facts.role in r.roles]
    if not permitted:
        raise IllegalTransition(
            Refusal(
                "lifecycle.role_forbidden",
                403,
                f"角色「{ROLE_ZH[facts.role]}」不能执行「{ACTION_ZH[action]}」",
                f"Role '{facts.role}' may not '{action}'",
            )
        )
    rule = permitted[0]
    for guard in rule.guards:
        refusal = guard(facts)
        if refusal is not None:
            raise IllegalTransition(refusal)
    return Transition(action, outcome, rule.label_zh, status, rule.result(status))


#: guards that look at the action's payload, which a button cannot know in advance
PAYLOAD_GUARDS: frozenset[Guard] = frozenset({_photo_if_required})


def possible_actions(status: Status, facts: Facts) -> list[Action]:
    """Actions this actor could take now: what the UI offers as buttons.

    ``facts`` describe the order and the actor (role, unit, pending extension, last callback);
    guards that depend on the payload (a photo in the reply) are left to ``fire``.
    """
    seen: list[Action] = []
    for rule in RULES:
        if status not in rule.sources or facts.role not in rule.roles or rule.action in seen:
            continue
        if any(g(facts) is not None for g in rule.guards if g not in PAYLOAD_GUARDS):
            continue
        seen.append(rule.action)
    return seen


def replay(events: Iterable[tuple[Action, str, Status, Status]]) -> Status | None:
    """Rebuild a status from ``(action, outcome, from, to)`` events, checking each step is a row.

    Returns the final status, or raises ``ValueError`` naming the first event no rule explains.
    Registration is the first event and has no rule (action ``None`` is not an ``Action``).
    """
    current: Status | None = None
    for index, (action, outcome, from_status, to_status) in enumerate(events):
        if current is not None and from_status is not current:
            raise ValueError(f"event {index}: starts from {from_status}, but the order was {current}")
        rows = [r for r in RULES if r.action is action and r.outcome == outcome and from_status in r.sources]
        if not any(r.result(from_status) is to_status for r in rows):
            raise ValueError(f"event {index}: no rule takes {from_status} to {to_status} by {action}/{outcome}")
        current = to_status
    return current


def render_markdown() -> str:
    """The lifecycle table as Markdown; ``docs/lifecycle.md`` is this text (a test keeps it so)."""
    lines = [
        "# Work-order lifecycle (工单流转)",
        "",
        "Generated from `src/minxin/core/lifecycle.py` (`minxin docs lifecycle`). Do not edit by hand.",
        "",
        "| action | outcome | 中文 | from | to | roles | guards |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in RULES:
        sources = ", ".join(f"`{s}`" for s in Status if s in r.sources)
        target = f"`{r.target}`" if r.target else "(unchanged)"
        roles = ", ".join(f"`{x}`" for x in Role if x in r.roles)
        guards = ", ".join(g.__name__.lstrip("_") for g in r.guards) or "-"
        lines.append(f"| `{r.action}` | {r.outcome or '-'} | {r.label_zh} | {sources} | {target} | {roles} | {guards} |")
    lines += ["", "## Statuses", "", "| status | 中文 |", "|---|---|"]
    lines += [f"| `{s}` | {STATUS_ZH[s]} |" for s in Status]
    return "\n".join(lines) + "\n"
