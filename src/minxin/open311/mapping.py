"""Our lifecycle ⇄ Open311 statuses: the GeoReport ``open``/``closed`` pair and mySociety's
extended statuses as FixMyStreet sends and reads them.

Outgoing (what a client sees):

========================  ===========  =============================================
our status / event        GeoReport    extended (servicerequestupdates, lower case)
========================  ===========  =============================================
registered                open         open
dispatched                open         investigating   (a unit has it)
returned                  open         investigating   (back with the centre)
signed                    open         in_progress
suspended                 open         action_scheduled
replied (办结)            closed       fixed
closed after a reply      closed       fixed
closed, direct answer     closed       closed
closed as unreasonable    closed       no_further_action
merged                    closed       duplicate
void                      closed       not_councils_responsibility
reopen event              open         open
========================  ===========  =============================================

Incoming (a client posts an update with ``status``): every update is kept as a timeline
note unless the status maps to a lifecycle action the key's role may take in the order's
current state, in which case that action is taken instead (see ``INCOMING``). A refused action
never loses the update: it falls back to the note.
"""

from __future__ import annotations

from minxin.core.vocabulary import Status

OPEN, CLOSED = "open", "closed"

BASE: dict[Status, str] = {
    Status.REGISTERED: OPEN,
    Status.DISPATCHED: OPEN,
    Status.RETURNED: OPEN,
    Status.SIGNED: OPEN,
    Status.SUSPENDED: OPEN,
    Status.REPLIED: CLOSED,
    Status.CLOSED: CLOSED,
    Status.MERGED: CLOSED,
    Status.VOID: CLOSED,
}

EXTENDED: dict[Status, str] = {
    Status.REGISTERED: "open",
    Status.DISPATCHED: "investigating",
    Status.RETURNED: "investigating",
    Status.SIGNED: "in_progress",
    Status.SUSPENDED: "action_scheduled",
    Status.REPLIED: "fixed",
    Status.CLOSED: "fixed",
    Status.MERGED: "duplicate",
    Status.VOID: "not_councils_responsibility",
}

#: the statuses FixMyStreet may send (upper case on the wire)
INCOMING_STATUSES: frozenset[str] = frozenset(
    {
        "OPEN",
        "CLOSED",
        "FIXED",
        "IN_PROGRESS",
        "ACTION_SCHEDULED",
        "INVESTIGATING",
        "DUPLICATE",
        "NOT_COUNCILS_RESPONSIBILITY",
        "NO_FURTHER_ACTION",
        "INTERNAL_REFERRAL",
        "FOR_TRIAGE",
        "CANCELLED",
        "REOPEN",
        "UNABLE_TO_FIX",
    }
)

#: incoming status → the lifecycle steps to try, keyed by the order's current status
#: (each step is an action and its body; anything else becomes a note)
INCOMING: dict[str, dict[Status, list[tuple[str, dict[str, object]]]]] = {
    "FIXED": {Status.REPLIED: [("callback", {"satisfaction": "satisfied", "resolved": True})]},
    "CLOSED": {Status.REPLIED: [("close", {})]},
    "REOPEN": {
        Status.REPLIED: [("callback", {"satisfaction": "dissatisfied", "resolved": False}), ("reopen", {})],
        Status.CLOSED: [("reopen", {})],
    },
    "NOT_COUNCILS_RESPONSIBILITY": {s: [("void", {})] for s in (Status.REGISTERED, Status.RETURNED)},
    "CANCELLED": {s: [("void", {})] for s in (Status.REGISTERED, Status.DISPATCHED, Status.RETURNED)},
}


def base_status(status: str) -> str:
    return BASE[Status(status)]


def base_statuses_to_ours(values: list[str]) -> set[str]:
    """``status=open,closed`` of GET requests → our statuses. Raises ValueError on others."""
    ours: set[str] = set()
    for value in values:
        value = value.strip().lower()
        if value not in (OPEN, CLOSED):
            raise ValueError(value)
        ours |= {s.value for s, b in BASE.items() if b == value}
    return ours


def extended_for_event(action: str, to_status: str, payload: dict[str, object]) -> str:
    """The extended status an event announces (what FixMyStreet's ``map_state`` reads)."""
    status = Status(to_status)
    if action == "reopen":
        return "open"
    if status is Status.CLOSED:
        if action == "answer":
            return "closed"
        if action == "close" and payload.get("unreasonable"):
            return "no_further_action"
    return EXTENDED[status]


def normalise_incoming(status: str) -> str | None:
    """Upper-case, underscores; None for a status FixMyStreet never sends."""
    value = status.strip().upper().replace(" ", "_")
    return value if value in INCOMING_STATUSES else None
