"""Urgency rules over appeal text: which words make an order urgent or an emergency, and why.

Why rules and not a model: an agent must see *which words* raised the urgency (and be able to
disagree), and a hotline centre must be able to add its own words without retraining. The
rules are plain data (``src/minxin/intake/urgency_rules.yaml`` ships the defaults); this module
only compiles and applies them, so it does no I/O.

A rule fires when one of its ``words`` or ``regex`` patterns matches (or, for ``all_of`` rules,
when every group matches within ``within`` characters: 独居老人 … 停电). Levels order
``normal < urgent < emergency``; the assessment takes the highest level of the rules that
fired, and an emergency names its hand-off (110 police, 119 fire and rescue, 120 ambulance).

Negation, kept deliberately simple: a match is *negated* when a negation cue (没有, 无, 未,
排除 …) appears at most ``window`` characters before it in the same clause (no ，。！？；
between), or a post-cue (已排除, 已修复 …) follows it in the same clause. A cue that starts an
exception word (无法, 无人管, 未解决 …) is not a cue. Negated matches do not fire; they are
reported in ``negated`` so the agent can see why a word was ignored. Double negation and
questions (是否有燃气泄漏) are not understood: they err on the side of firing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class UrgencyLevel(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {UrgencyLevel.NORMAL: 0, UrgencyLevel.URGENT: 1, UrgencyLevel.EMERGENCY: 2}
HANDOFF_TARGETS = frozenset({"110", "119", "120"})
_CLAUSE_END = re.compile(r"[，,。.！!？?；;\n\r]")


@dataclass(frozen=True, slots=True)
class UrgencyRule:
    """One compiled rule. ``groups`` holds one tuple of patterns per ``all_of`` group (or one)."""

    id: str
    level: UrgencyLevel
    groups: tuple[tuple[re.Pattern[str], ...], ...]
    label: str = ""
    handoff: str | None = None
    within: int | None = None
    months: frozenset[int] | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UrgencyReason:
    """Why a rule fired (or was negated): the words as written and their spans in the text."""

    rule: str
    label: str
    level: UrgencyLevel
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    handoff: str | None = None


@dataclass(frozen=True, slots=True)
class UrgencyAssessment:
    level: UrgencyLevel
    reasons: tuple[UrgencyReason, ...] = ()
    handoff: tuple[str, ...] = ()
    negated: tuple[UrgencyReason, ...] = ()

    @property
    def is_urgent(self) -> bool:
        return self.level is not UrgencyLevel.NORMAL


@dataclass(frozen=True, slots=True)
class Negation:
    cues: tuple[str, ...] = ("没有", "没", "无", "未", "并未", "不是", "并非", "排除", "不存在", "否认")
    exceptions: tuple[str, ...] = ("无法", "无论", "无奈", "无数", "没法", "未来", "未果")
    post_cues: tuple[str, ...] = ("已排除", "已经排除", "已修复", "已经修复", "已处理", "已解决", "已恢复")
    window: int = 4


def _compile_group(words: Iterable[str], regexes: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    pats: list[re.Pattern[str]] = []
    literal = sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=True)
    if literal:
        pats.append(re.compile("|".join(re.escape(w) for w in literal)))
    pats.extend(re.compile(r) for r in regexes)
    return tuple(pats)


def _as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{what} must be a list")
    return list(value)


def rule_from_mapping(data: Mapping[str, Any]) -> UrgencyRule:
    """Compile one rule from its YAML/JSON form; raises ValueError with the rule id on bad input."""
    rid = str(data.get("id") or "").strip()
    if not rid:
        raise ValueError("urgency rule without id")
    try:
        level = UrgencyLevel(str(data.get("level", "urgent")))
        handoff = data.get("handoff")
        handoff = None if handoff in (None, "") else str(handoff)
        if handoff is not None and handoff not in HANDOFF_TARGETS:
            raise ValueError(f"handoff must be one of {sorted(HANDOFF_TARGETS)}")
        if "all_of" in data:
            groups = tuple(
                _compile_group(_as_list(g, "all_of group"), ()) for g in _as_list(data["all_of"], "all_of")
            )
        else:
            groups = (
                _compile_group(_as_list(data.get("words"), "words"), _as_list(data.get("regex"), "regex")),
            )
        if not groups or any(not g for g in groups):
            raise ValueError("needs words, regex or all_of")
        months = data.get("months")
        return UrgencyRule(
            id=rid,
            level=level,
            groups=groups,
            label=str(data.get("label", rid)),
            handoff=handoff,
            within=int(data["within"]) if data.get("within") is not None else None,
            months=frozenset(int(m) for m in _as_list(months, "months")) if months is not None else None,
            examples=tuple(str(e) for e in _as_list(data.get("examples"), "examples")),
        )
    except (ValueError, TypeError, re.error) as exc:
        raise ValueError(f"urgency rule {rid!r}: {exc}") from exc


@dataclass(frozen=True)
class UrgencyRuleSet:
    """An immutable, ordered rule set. Build it with :meth:`from_config`."""

    rules: tuple[UrgencyRule, ...]
    negation: Negation = field(default_factory=Negation)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UrgencyRuleSet:
        """From ``{"negation": {...}, "rules": [...]}`` as loaded from YAML or JSON."""
        rules = tuple(rule_from_mapping(r) for r in _as_list(config.get("rules"), "rules"))
        ids = [r.id for r in rules]
        if len(set(ids)) != len(ids):
            raise ValueError("urgency rule ids must be unique")
        neg_cfg = config.get("negation") or {}
        default = Negation()
        negation = Negation(
            cues=tuple(neg_cfg.get("cues", default.cues)),
            exceptions=tuple(neg_cfg.get("exceptions", default.exceptions)),
            post_cues=tuple(neg_cfg.get("post_cues", default.post_cues)),
            window=int(neg_cfg.get("window", default.window)),
        )
        return cls(rules, negation)

    def _negated(self, text: str, start: int, end: int) -> bool:
        neg = self.negation
        lo = max(0, start - neg.window - max((len(c) for c in neg.cues), default=0))
        before = text[lo:start]
        cut = [m.end() for m in _CLAUSE_END.finditer(before)]
        offset = lo + (cut[-1] if cut else 0)
        for cue in neg.cues:
            pos = text.find(cue, offset, start)
            while pos != -1:
                gap = start - (pos + len(cue))
                if 0 <= gap <= neg.window and not any(text.startswith(x, pos) for x in neg.exceptions):
                    return True
                pos = text.find(cue, pos + 1, start)
        after = text[end:]
        stop = _CLAUSE_END.search(after)
        clause = after[: stop.start()] if stop else after
        return any(p in clause for p in neg.post_cues)

    def _group_hits(
        self, text: str, group: tuple[re.Pattern[str], ...]
    ) -> tuple[list[re.Match[str]], list[re.Match[str]]]:
        live: list[re.Match[str]] = []
        dead: list[re.Match[str]] = []
        for pat in group:
            for m in pat.finditer(text):
                if m.end() > m.start():
                    (dead if self._negated(text, m.start(), m.end()) else live).append(m)
        return live, dead

    def assess(self, text: str, *, month: int | None = None) -> UrgencyAssessment:
        """Assess ``text``. ``month`` (1–12) enables seasonal rules; None means "apply them all"."""
        reasons: list[UrgencyReason] = []
        negated: list[UrgencyReason] = []
        for rule in self.rules:
            if rule.months is not None and month is not None and month not in rule.months:
                continue
            hits = [self._group_hits(text, g) for g in rule.groups]
            if all(live for live, _ in hits):
                chosen = _closest([live for live, _ in hits], rule.within)
                if chosen is not None:
                    reasons.append(_reason(rule, chosen))
                    continue
            dead = [m for live, d in hits for m in (d or live)] if any(d for _, d in hits) else []
            if dead and all(live or d for live, d in hits):
                negated.append(_reason(rule, sorted(dead, key=lambda m: m.start())))
        level = max((r.level for r in reasons), key=lambda lv: lv.rank, default=UrgencyLevel.NORMAL)
        handoff: list[str] = []
        for r in reasons:
            if r.handoff and r.level is UrgencyLevel.EMERGENCY and r.handoff not in handoff:
                handoff.append(r.handoff)
        return UrgencyAssessment(level, tuple(reasons), tuple(handoff), tuple(negated))


def _closest(groups: list[list[re.Match[str]]], within: int | None) -> list[re.Match[str]] | None:
    """One match per group, the whole set spanning at most ``within`` characters (None: any)."""
    if len(groups) == 1:
        return sorted(groups[0], key=lambda m: m.start())
    if within is None:
        return sorted((m for g in groups for m in g), key=lambda m: m.start())
    for anchor in sorted(groups[0], key=lambda m: m.start()):
        picked = [anchor]
        for g in groups[1:]:
            near = [m for m in g if abs(m.start() - anchor.start()) <= within]
            if not near:
                break
            picked.append(min(near, key=lambda m: abs(m.start() - anchor.start())))
        else:
            return sorted(picked, key=lambda m: m.start())
    return None


def _reason(rule: UrgencyRule, matches: list[re.Match[str]]) -> UrgencyReason:
    words = tuple(dict.fromkeys(m.group() for m in matches))
    return UrgencyReason(
        rule=rule.id,
        label=rule.label,
        level=rule.level,
        words=words,
        spans=tuple((m.start(), m.end()) for m in matches),
        handoff=rule.handoff,
    )
