"""Tag one order snapshot with risk labels, each with the evidence that fired it.

Why pure and context-fed: the same function runs at registration and again whenever a related
order arrives (a new call from the same caller, a reopen). The caller (the risk service) counts
history from the DB (same caller in 30 days, reopens of the chain …) into a
:class:`TaggingContext`; this module never queries anything, so re-tagging is cheap and a stored
tag can always be explained from its evidence.

Invariants: ``tag`` is deterministic for equal inputs; every returned tag names a label of the
taxonomy; tags are sorted by severity (highest first) then label code; ``evidence.words`` holds
taxonomy phrases (normalised form) that occurred un-negated in the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from minxin.core.risk.matcher import PhraseAutomaton, is_negated
from minxin.core.risk.taxonomy import RiskLabel, SignalRule, Taxonomy, iter_phrases, normalise_phrase

__all__ = [
    "CompiledTaxonomy",
    "OrderSnapshot",
    "RiskEvidence",
    "RiskTag",
    "TagDiff",
    "TaggingContext",
    "compile_taxonomy",
    "diff_tags",
    "tag",
]


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """What tagging reads from an order: its text (title + content) and its classification."""

    order_id: str
    text: str
    category_code: str = ""
    appeal_type: str = ""


@dataclass(frozen=True, slots=True)
class TaggingContext:
    """History counted by the caller.

    ``counts`` is keyed by :attr:`CountCondition.key` (``same_caller@30d``, ``reopened`` …; the set
    a taxonomy needs is :meth:`Taxonomy.count_keys`); a missing key counts as 0.
    ``related_order_ids`` maps the same keys to the orders behind each count, so a fired tag can
    show them. ``scores`` maps model names to scores in [0, 1].
    """

    counts: Mapping[str, int] = field(default_factory=dict)
    related_order_ids: Mapping[str, Sequence[str]] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RiskEvidence:
    """Why a label fired: phrases that occurred, counts that reached their minimum, related orders."""

    words: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    related_order_ids: tuple[str, ...] = ()
    category_prefix: str | None = None
    appeal_type: str | None = None
    scores: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form for storage next to the tag."""
        return {
            "words": list(self.words), "counts": dict(self.counts), "related_order_ids": list(self.related_order_ids),
            "category_prefix": self.category_prefix, "appeal_type": self.appeal_type, "scores": dict(self.scores),
        }


@dataclass(frozen=True, slots=True)
class RiskTag:
    label_code: str
    category_code: str
    severity: int
    role: str
    evidence: RiskEvidence


@dataclass(frozen=True, slots=True)
class CompiledTaxonomy:
    """A taxonomy plus its phrase automaton and the rule index; build with :func:`compile_taxonomy`."""

    taxonomy: Taxonomy
    automaton: PhraseAutomaton
    #: rules that need a keyword hit, indexed by keyword: keyword → [(label, rule)]
    by_keyword: Mapping[str, tuple[tuple[RiskLabel, SignalRule], ...]]
    #: rules without keywords (category / appeal type / counts / scores only): always evaluated
    non_textual: tuple[tuple[RiskLabel, SignalRule], ...]


_CACHE: dict[str, CompiledTaxonomy] = {}
_CACHE_MAX = 8


def compile_taxonomy(taxonomy: Taxonomy) -> CompiledTaxonomy:
    """Build (or fetch from a small cache keyed by content hash) the matcher for a taxonomy."""
    hit = _CACHE.get(taxonomy.content_hash)
    if hit is not None:
        return hit
    by_kw: dict[str, list[tuple[RiskLabel, SignalRule]]] = {}
    plain: list[tuple[RiskLabel, SignalRule]] = []
    for label in taxonomy.labels:
        for rule in label.rules:
            if rule.keywords:
                for kw in rule.keywords:
                    by_kw.setdefault(kw, []).append((label, rule))
            else:
                plain.append((label, rule))
    compiled = CompiledTaxonomy(
        taxonomy=taxonomy, automaton=PhraseAutomaton(iter_phrases(taxonomy)),
        by_keyword={k: tuple(v) for k, v in by_kw.items()}, non_textual=tuple(plain),
    )
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[taxonomy.content_hash] = compiled
    return compiled


def _present(phrases: Sequence[str], hits: Mapping[str, list[int]], text: str, cues: Sequence[str],
             pseudo: Sequence[str]) -> list[str]:
    """Phrases of ``phrases`` with at least one un-negated occurrence."""
    found = []
    for p in phrases:
        starts = hits.get(p)
        if starts and any(not is_negated(text, s, cues, pseudo) for s in starts):
            found.append(p)
    return found


def _fire(rule: SignalRule, order: OrderSnapshot, ctx: TaggingContext, text: str, hits: Mapping[str, list[int]],
          cues: Sequence[str], pseudo: Sequence[str]) -> RiskEvidence | None:
    """The evidence if every stated condition of ``rule`` holds, else None."""
    words: list[str] = []
    if rule.keywords:
        rule_cues = (*cues, *rule.negations) if rule.negations else cues
        words = _present(rule.keywords, hits, text, rule_cues, pseudo)
        if not words:
            return None
        if rule.require:
            also = _present(rule.require, hits, text, rule_cues, pseudo)
            if not also:
                return None
            words.extend(w for w in also if w not in words)
    if rule.exclude and any(p in hits for p in rule.exclude):
        return None
    prefix = None
    if rule.categories:
        prefix = next((c for c in rule.categories if order.category_code.startswith(c)), None)
        if prefix is None:
            return None
    if rule.appeal_types and order.appeal_type not in rule.appeal_types:
        return None
    counts: dict[str, int] = {}
    related: list[str] = []
    for cond in rule.counts:
        value = int(ctx.counts.get(cond.key, 0))
        if value < cond.min:
            return None
        counts[cond.key] = value
        related.extend(ctx.related_order_ids.get(cond.key, ()))
    scores: dict[str, float] = {}
    for sc in rule.scores:
        value = float(ctx.scores.get(sc.model, 0.0))
        if value < sc.min:
            return None
        scores[sc.model] = value
    return RiskEvidence(
        words=tuple(words), counts=counts,
        related_order_ids=tuple(dict.fromkeys(r for r in related if r != order.order_id)),
        category_prefix=prefix, appeal_type=order.appeal_type if rule.appeal_types else None, scores=scores,
    )


def _merge(a: RiskEvidence, b: RiskEvidence) -> RiskEvidence:
    return RiskEvidence(
        words=tuple(dict.fromkeys((*a.words, *b.words))), counts={**a.counts, **b.counts},
        related_order_ids=tuple(dict.fromkeys((*a.related_order_ids, *b.related_order_ids))),
        category_prefix=a.category_prefix or b.category_prefix, appeal_type=a.appeal_type or b.appeal_type,
        scores={**a.scores, **b.scores},
    )


def tag(order: OrderSnapshot, taxonomy: Taxonomy | CompiledTaxonomy,
        context: TaggingContext | None = None) -> list[RiskTag]:
    """All labels of ``taxonomy`` that fire for ``order`` given ``context`` (see module doc).

    When several rules of one label fire, their evidence is merged into one tag.
    """
    compiled = taxonomy if isinstance(taxonomy, CompiledTaxonomy) else compile_taxonomy(taxonomy)
    tax = compiled.taxonomy
    ctx = context or TaggingContext()
    text = normalise_phrase(order.text)
    hits: dict[str, list[int]] = {}
    for h in compiled.automaton.find(text):
        hits.setdefault(h.phrase, []).append(h.start)
    candidates: dict[int, tuple[RiskLabel, SignalRule]] = {}
    for phrase in hits:
        for label, rule in compiled.by_keyword.get(phrase, ()):
            candidates.setdefault(id(rule), (label, rule))
    for label, rule in compiled.non_textual:
        candidates.setdefault(id(rule), (label, rule))
    fired: dict[str, tuple[RiskLabel, RiskEvidence]] = {}
    for label, rule in candidates.values():
        ev = _fire(rule, order, ctx, text, hits, tax.negations, tax.pseudo_negations)
        if ev is None:
            continue
        prev = fired.get(label.code)
        fired[label.code] = (label, _merge(prev[1], ev) if prev else ev)
    tags = [
        RiskTag(label_code=lb.code, category_code=lb.category_code, severity=lb.severity, role=lb.role, evidence=ev)
        for lb, ev in fired.values()
    ]
    tags.sort(key=lambda t: (-t.severity, t.label_code))
    return tags


@dataclass(frozen=True, slots=True)
class TagDiff:
    """What re-tagging changed: labels to add, labels no longer supported, labels whose evidence grew."""

    added: tuple[RiskTag, ...]
    removed: tuple[str, ...]
    changed: tuple[RiskTag, ...]


def diff_tags(old: Sequence[RiskTag], new: Sequence[RiskTag]) -> TagDiff:
    """Compare a stored tag set with a fresh one (for re-tagging when related orders arrive)."""
    before = {t.label_code: t for t in old}
    after = {t.label_code: t for t in new}
    return TagDiff(
        added=tuple(t for c, t in after.items() if c not in before),
        removed=tuple(c for c in before if c not in after),
        changed=tuple(t for c, t in after.items() if c in before and before[c].evidence != t.evidence),
    )
