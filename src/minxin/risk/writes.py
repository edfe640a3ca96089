"""The rows one tagging pass writes, planned in memory and flushed as a few ``executemany``
statements (per-row statements are what made re-tagging relatives slow)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.risk.subjects import SubjectRisk, accumulate, risk_level
from minxin.core.risk.tagging import RiskTag
from minxin.risk import repository
from minxin.risk.repository import SubjectState, TagRow


@dataclass
class Writes:
    """Everything one tagging pass writes, flushed at the end as a few executemany statements
    (per-row statements are what made re-tagging relatives slow)."""

    now: datetime
    content_hash: str
    tag_inserts: list[dict[str, Any]] = field(default_factory=list)
    tag_updates: list[dict[str, Any]] = field(default_factory=list)
    profile_updates: list[dict[str, Any]] = field(default_factory=list)
    scored: dict[int, SubjectState] = field(default_factory=dict)
    #: (subject keys, added tags) whose weights are folded in at :meth:`flush`, from the states
    #: the subjects have by then (planned before the subjects are written, see ``tagger.plan_one``)
    later: list[tuple[list[str], list[RiskTag]]] = field(default_factory=list)

    def tags(self, order_id: int, tags: Sequence[RiskTag], existing: dict[str, TagRow]) -> tuple[list[RiskTag], bool]:
        """Plan the order's tag rows to match ``tags``. Returns the tags that are new or revived
        (they add to the subjects' scores) and whether any row changes."""
        added: list[RiskTag] = []
        before = len(self.tag_inserts) + len(self.tag_updates)
        for t in tags:
            evidence = t.evidence.as_dict()
            row = existing.get(t.label_code)
            values = {"severity": t.severity, "role": t.role, "category_code": t.category_code, "evidence": evidence,
                      "taxonomy_hash": self.content_hash, "updated_at": self.now}
            if row is None:
                self.tag_inserts.append({"order_id": order_id, "label_code": t.label_code, "tagged_at": self.now, **values})
                added.append(t)
            elif row.removed_at is not None:
                self.tag_updates.append({"id": row.id, "removed_at": None, "tagged_at": self.now, **values})
                added.append(t)
            elif row.evidence != evidence or row.severity != t.severity:
                self.tag_updates.append({"id": row.id, **values})
        fired = {t.label_code for t in tags}
        self.tag_updates.extend({"id": row.id, "removed_at": self.now, "updated_at": self.now}
                                for label, row in existing.items() if label not in fired and row.removed_at is None)
        return added, len(self.tag_inserts) + len(self.tag_updates) > before

    def accumulate(self, subjects: Iterable[SubjectState], added: Sequence[RiskTag]) -> None:
        """Fold the weights of newly added tags into the (locked) subjects' decayed scores."""
        if not added:
            return
        for subject in subjects:
            state = SubjectRisk(subject.key, subject.score, subject.score_at)
            for t in added:
                state = accumulate(state, subject.key, t.severity, self.now)
            subject.score, subject.score_at = state.score, state.as_of
            self.scored[subject.id] = subject

    def accumulate_later(self, keys: Sequence[str], added: Sequence[RiskTag]) -> None:
        """:meth:`accumulate` for subjects known by key only; resolved, in call order, at :meth:`flush`."""
        if added and keys:
            self.later.append((list(keys), list(added)))

    def flush(self, session: Session, states: dict[str, SubjectState]) -> None:
        """Write everything planned; ``states`` (subject key → state, written already) resolves
        :meth:`accumulate_later` (a key missing there is a bug: KeyError, the pass rolls back)."""
        for keys, added in self.later:
            self.accumulate([states[k] for k in keys], added)
        self.later.clear()
        repository.insert_tags(session, self.tag_inserts)
        repository.update_tags(session, self.tag_updates)
        repository.update_profiles(session, self.profile_updates)
        repository.update_scores(session, [
            {"id": s.id, "score": s.score, "score_at": s.score_at, "level": risk_level(s.score)}
            for s in self.scored.values()
        ])
