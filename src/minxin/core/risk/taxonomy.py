"""The risk taxonomy as data: categories → labels → signal rules, validated and versioned.

Why data and not code: the reference deployment screens appeals against 9 categories and 122
labels that admins tune (add a phrase, raise a severity, route a label to another unit) without a
release. So the taxonomy is a plain mapping (read from YAML by :mod:`minxin.risk.taxonomy_file`,
or from the DB by the risk domain) turned into frozen dataclasses here.

Rule semantics (also documented at the top of ``default_taxonomy.yaml``):

* A label fires when **any** of its signal rules fires.
* A rule fires when **all** of the conditions it states hold:
  ``keywords`` (at least one occurs, not negated), ``require`` (at least one of these also
  occurs, not negated: a co-occurrence), ``exclude`` (none of these occurs: a veto),
  ``categories`` (the order's category code starts with one of these prefixes), ``appeal_types``
  (the order's appeal type is one of these), ``counts`` (every count from the caller's context
  reaches its minimum) and ``scores`` (every model score reaches its minimum).
* A rule must state at least one positive condition (``keywords``, ``categories``,
  ``appeal_types``, ``counts`` or ``scores``); ``require`` needs ``keywords``.

Invariants after :func:`load_taxonomy`: category and label codes are unique, every label belongs
to exactly one category and has ≥ 1 rule, severities are 1–4, every acting role is declared in
``roles``, and :attr:`Taxonomy.content_hash` changes whenever anything that affects tagging does.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from minxin.core.vocabulary import AppealType

__all__ = [
    "COUNT_METRICS",
    "CountCondition",
    "RiskCategory",
    "RiskLabel",
    "ScoreCondition",
    "SignalRule",
    "Taxonomy",
    "TaxonomyError",
    "iter_phrases",
    "load_taxonomy",
    "normalise_phrase",
]

#: Count metrics a rule may ask for; the caller computes them from history (see TaggingContext).
COUNT_METRICS: dict[str, str] = {
    "same_caller": "同一来电人在窗口内的工单数（含本单）",
    "same_address": "同一地址在窗口内的工单数（含本单）",
    "same_enterprise": "同一企业在窗口内被反映的工单数（含本单）",
    "similar_nearby": "同区域相似诉求在窗口内的工单数（含本单）",
    "reopened": "本单（含关联链）被重办的次数",
    "returned": "本单（含关联链）被退单的次数",
    "overdue": "本单（含关联链）超期的次数",
    "unsatisfied": "本单（含关联链）回访不满意的次数",
    "chain_events": "本单关联链上退单+重办的次数",
}

DEFAULT_NEGATIONS: tuple[str, ...] = (
    "没有", "没", "未", "无", "不是", "并非", "并未", "排除", "不存在", "不到", "已修复", "已恢复", "已解决",
)
DEFAULT_PSEUDO_NEGATIONS: tuple[str, ...] = (
    "是不是", "有没有", "是否", "会不会", "无法", "没法", "没办法", "无奈", "无数", "无人", "未成年", "无证",
)


class TaxonomyError(ValueError):
    """A taxonomy mapping that cannot be loaded; the message names the category/label at fault."""


def normalise_phrase(text: str) -> str:
    """NFKC, lower case, whitespace removed: the form phrases and order texts are matched in."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


@dataclass(frozen=True, slots=True)
class CountCondition:
    """``metric`` over ``window`` (None: the whole life of the order chain) must be ≥ ``min``."""

    metric: str
    min: int
    window: timedelta | None = None

    @property
    def key(self) -> str:
        """The key the caller's :class:`TaggingContext.counts` uses, e.g. ``same_caller@30d``."""
        if self.window is None:
            return self.metric
        secs = int(self.window.total_seconds())
        if secs % 86400 == 0:
            return f"{self.metric}@{secs // 86400}d"
        return f"{self.metric}@{secs // 3600}h"


@dataclass(frozen=True, slots=True)
class ScoreCondition:
    """A model score in [0, 1] supplied by the caller (``context.scores[model]``) must be ≥ ``min``."""

    model: str
    min: float


@dataclass(frozen=True, slots=True)
class SignalRule:
    """One conjunction of conditions; phrases are stored normalised (see :func:`normalise_phrase`)."""

    keywords: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    negations: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    appeal_types: tuple[str, ...] = ()
    counts: tuple[CountCondition, ...] = ()
    scores: tuple[ScoreCondition, ...] = ()

    @property
    def is_textual(self) -> bool:
        return bool(self.keywords)


@dataclass(frozen=True, slots=True)
class RiskLabel:
    code: str
    name: str
    category_code: str
    severity: int
    role: str
    description: str
    rules: tuple[SignalRule, ...]


@dataclass(frozen=True, slots=True)
class RiskCategory:
    code: str
    name: str
    description: str
    labels: tuple[RiskLabel, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Taxonomy:
    """A validated taxonomy. ``content_hash`` is a sha256 over the canonical JSON of the source.

    Two taxonomies are equal exactly when their content hashes are (the hash is the version a
    stored tag or alert should record next to the human ``version`` string).
    """

    version: str
    name: str
    roles: Mapping[str, str]
    categories: tuple[RiskCategory, ...]
    negations: tuple[str, ...]
    pseudo_negations: tuple[str, ...]
    content_hash: str
    _by_code: Mapping[str, RiskLabel] = field(default_factory=dict, repr=False, compare=False)

    @property
    def labels(self) -> tuple[RiskLabel, ...]:
        return tuple(label for cat in self.categories for label in cat.labels)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Taxonomy) and other.content_hash == self.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def label(self, code: str) -> RiskLabel:
        """The label with this code; KeyError names it when unknown."""
        return self._by_code[code]

    def has_label(self, code: str) -> bool:
        return code in self._by_code

    def count_keys(self) -> dict[str, CountCondition]:
        """Every count the caller must supply in a TaggingContext, keyed as ``CountCondition.key``."""
        out: dict[str, CountCondition] = {}
        for label in self.labels:
            for rule in label.rules:
                for cond in rule.counts:
                    out.setdefault(cond.key, cond)
        return out

    def score_models(self) -> frozenset[str]:
        return frozenset(s.model for label in self.labels for rule in label.rules for s in rule.scores)


# --------------------------------------------------------------------------------------- loading

_RULE_KEYS = {"keywords", "require", "exclude", "negations", "categories", "appeal_types", "counts", "scores"}
_LABEL_KEYS = {"code", "name", "severity", "role", "description", "signals"}
_CATEGORY_KEYS = {"code", "name", "description", "labels"}


def _strs(value: Any, where: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TaxonomyError(f"{where}: '{what}' must be a list of strings")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise TaxonomyError(f"{where}: '{what}' has an empty or non-string entry {item!r}")
        out.append(item.strip())
    return tuple(out)


def _phrases(value: Any, where: str, what: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalise_phrase(p) for p in _strs(value, where, what)))


def _window(raw: Mapping[str, Any], where: str) -> timedelta | None:
    days, hours = raw.get("window_days"), raw.get("window_hours")
    if days is not None and hours is not None:
        raise TaxonomyError(f"{where}: give window_days or window_hours, not both")
    for v in (days, hours):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
            raise TaxonomyError(f"{where}: window must be a positive integer, got {v!r}")
    if days is not None:
        return timedelta(days=days)
    return timedelta(hours=hours) if hours is not None else None


def _count(raw: Any, where: str) -> CountCondition:
    if not isinstance(raw, Mapping):
        raise TaxonomyError(f"{where}: a count condition must be a mapping")
    metric, minimum = raw.get("metric"), raw.get("min")
    if metric not in COUNT_METRICS:
        raise TaxonomyError(f"{where}: unknown count metric {metric!r} (known: {', '.join(COUNT_METRICS)})")
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
        raise TaxonomyError(f"{where}: count 'min' must be an integer ≥ 1, got {minimum!r}")
    return CountCondition(metric=metric, min=minimum, window=_window(raw, where))


def _score(raw: Any, where: str) -> ScoreCondition:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("model"), str):
        raise TaxonomyError(f"{where}: a score condition needs 'model' and 'min'")
    minimum = raw.get("min")
    if not isinstance(minimum, int | float) or isinstance(minimum, bool) or not 0 <= minimum <= 1:
        raise TaxonomyError(f"{where}: score 'min' must be in [0, 1], got {minimum!r}")
    return ScoreCondition(model=raw["model"], min=float(minimum))


def _rule(raw: Any, where: str) -> SignalRule:
    if not isinstance(raw, Mapping):
        raise TaxonomyError(f"{where}: a signal rule must be a mapping")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise TaxonomyError(f"{where}: unknown signal keys {sorted(unknown)}")
    appeal_types = _strs(raw.get("appeal_types"), where, "appeal_types")
    known_types = {t.value for t in AppealType}
    bad = [t for t in appeal_types if t not in known_types]
    if bad:
        raise TaxonomyError(f"{where}: unknown appeal types {bad} (known: {sorted(known_types)})")
    counts = raw.get("counts") or []
    scores = raw.get("scores") or []
    if not isinstance(counts, list) or not isinstance(scores, list):
        raise TaxonomyError(f"{where}: 'counts' and 'scores' must be lists")
    rule = SignalRule(
        keywords=_phrases(raw.get("keywords"), where, "keywords"),
        require=_phrases(raw.get("require"), where, "require"),
        exclude=_phrases(raw.get("exclude"), where, "exclude"),
        negations=_phrases(raw.get("negations"), where, "negations"),
        categories=_strs(raw.get("categories"), where, "categories"),
        appeal_types=appeal_types,
        counts=tuple(_count(c, f"{where}.counts[{i}]") for i, c in enumerate(counts)),
        scores=tuple(_score(s, f"{where}.scores[{i}]") for i, s in enumerate(scores)),
    )
    if not (rule.keywords or rule.categories or rule.appeal_types or rule.counts or rule.scores):
        raise TaxonomyError(f"{where}: a rule needs at least one positive signal")
    if rule.require and not rule.keywords:
        raise TaxonomyError(f"{where}: 'require' only makes sense together with 'keywords'")
    return rule


def _label(raw: Any, category: str, roles: Mapping[str, str], where: str) -> RiskLabel:
    if not isinstance(raw, Mapping):
        raise TaxonomyError(f"{where}: a label must be a mapping")
    code = raw.get("code")
    if not isinstance(code, str) or not code.strip():
        raise TaxonomyError(f"{where}: label without a code")
    where = f"label {code!r}"
    unknown = set(raw) - _LABEL_KEYS
    if unknown:
        raise TaxonomyError(f"{where}: unknown keys {sorted(unknown)}")
    name, description = raw.get("name"), raw.get("description", "")
    if not isinstance(name, str) or not name.strip():
        raise TaxonomyError(f"{where}: missing name")
    severity = raw.get("severity")
    if not isinstance(severity, int) or isinstance(severity, bool) or not 1 <= severity <= 4:
        raise TaxonomyError(f"{where}: severity must be an integer 1–4, got {severity!r}")
    role = raw.get("role")
    if role not in roles:
        raise TaxonomyError(f"{where}: role {role!r} is not declared in 'roles'")
    signals = raw.get("signals")
    if isinstance(signals, Mapping):
        signals = [signals]
    if not isinstance(signals, list) or not signals:
        raise TaxonomyError(f"{where}: needs at least one signal rule")
    rules = tuple(_rule(s, f"{where}.signals[{i}]") for i, s in enumerate(signals))
    return RiskLabel(
        code=code.strip(), name=name.strip(), category_code=category, severity=severity, role=role,
        description=str(description or "").strip(), rules=rules,
    )


def _canonical_hash(mapping: Mapping[str, Any]) -> str:
    blob = json.dumps(mapping, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_taxonomy(mapping: Mapping[str, Any], *, expect_categories: int | None = None) -> Taxonomy:
    """Validate a taxonomy mapping (as parsed from YAML/JSON) and build the frozen model.

    Raises :class:`TaxonomyError` naming the category or label at fault. ``expect_categories``
    lets a deployment pin the number of categories (the default file has 9).
    """
    if not isinstance(mapping, Mapping):
        raise TaxonomyError("taxonomy must be a mapping")
    version = str(mapping.get("version") or "").strip()
    if not version:
        raise TaxonomyError("taxonomy: missing 'version'")
    raw_roles = mapping.get("roles")
    if not isinstance(raw_roles, Mapping) or not raw_roles:
        raise TaxonomyError("taxonomy: 'roles' must map role codes to names")
    roles = {str(k): str(v) for k, v in raw_roles.items()}
    defaults = mapping.get("defaults") or {}
    negations = _phrases(defaults.get("negations", list(DEFAULT_NEGATIONS)), "defaults", "negations")
    pseudo = _phrases(defaults.get("pseudo_negations", list(DEFAULT_PSEUDO_NEGATIONS)), "defaults", "pseudo_negations")
    raw_categories = mapping.get("categories")
    if not isinstance(raw_categories, list) or not raw_categories:
        raise TaxonomyError("taxonomy: 'categories' must be a non-empty list")
    seen: set[str] = set()
    categories: list[RiskCategory] = []
    by_code: dict[str, RiskLabel] = {}
    for ci, raw in enumerate(raw_categories):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("code"), str):
            raise TaxonomyError(f"categories[{ci}]: needs a string 'code'")
        ccode = raw["code"].strip()
        where = f"category {ccode!r}"
        if set(raw) - _CATEGORY_KEYS:
            raise TaxonomyError(f"{where}: unknown keys {sorted(set(raw) - _CATEGORY_KEYS)}")
        if ccode in seen:
            raise TaxonomyError(f"{where}: duplicate code")
        seen.add(ccode)
        raw_labels = raw.get("labels")
        if not isinstance(raw_labels, list) or not raw_labels:
            raise TaxonomyError(f"{where}: needs at least one label")
        labels: list[RiskLabel] = []
        for li, raw_label in enumerate(raw_labels):
            label = _label(raw_label, ccode, roles, f"{where}.labels[{li}]")
            if label.code in seen:
                raise TaxonomyError(f"label {label.code!r}: duplicate code")
            seen.add(label.code)
            by_code[label.code] = label
            labels.append(label)
        categories.append(RiskCategory(
            code=ccode, name=str(raw.get("name") or ccode), description=str(raw.get("description") or ""),
            labels=tuple(labels),
        ))
    if expect_categories is not None and len(categories) != expect_categories:
        raise TaxonomyError(f"taxonomy: expected {expect_categories} categories, found {len(categories)}")
    return Taxonomy(
        version=version, name=str(mapping.get("name") or ""), roles=roles, categories=tuple(categories),
        negations=negations, pseudo_negations=pseudo, content_hash=_canonical_hash(mapping), _by_code=by_code,
    )


def iter_phrases(taxonomy: Taxonomy) -> Iterable[str]:
    """Every phrase any rule matches on (keywords, require, exclude), for building one automaton."""
    for label in taxonomy.labels:
        for rule in label.rules:
            yield from rule.keywords
            yield from rule.require
            yield from rule.exclude
