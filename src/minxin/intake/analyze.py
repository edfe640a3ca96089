"""Intake analysis: everything the system can suggest about an appeal, with its reasons.

One function, :func:`analyze`, serves both the intake form (``POST /api/v1/intake/analyze``,
called while the agent types) and the registration hook. Stages, each timed:

* **classify** — the active model's top-3 labels mapped onto the category tree
  (:mod:`minxin.intake.category_map`), and the *decided* category: walking down the label
  hierarchy, the deepest category whose confidence reaches its threshold (per-category
  thresholds, falling back to ancestors' and then the model's default). No model → no
  categories; everything else still works.
* **region** — the address (or, without one, the text) resolved against the division table,
  bare district names settled by the centre's own city.
* **routing** — :func:`minxin.routing.service.route` for the decided category (else the top
  suggestion, else none) × the region: the unit, the rule that chose it and the runners-up.
* **urgency** — the rule set over title + content: level, the words that fired, and 110/119/120
  hand-offs (``emergency_handoff``).
* **duplicates** — the in-memory index (:mod:`minxin.intake.duplicate_store`): same phone,
  same address, similar text, with scores; never waits for the index to be built.
* **masking** — ID, bank card and phone numbers in the text masked for display.

Pure with respect to the database: it reads, never writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from minxin.core.address import RegionMatch
from minxin.core.pii import find_pii, mask_text
from minxin.core.urgency import UrgencyAssessment
from minxin.core.vocabulary import STATUS_ZH, URGENCY_ZH, Status, Urgency
from minxin.intake import category_map, model_registry, repository
from minxin.intake import duplicate_store as dupes
from minxin.intake.table import LEVEL_SEP
from minxin.intake.urgency_config import default_rules
from minxin.routing import service as routing
from minxin.routing.regions import region_name, resolver

REASON_ZH = {"same_phone": "同一来电号码", "same_address": "同一地址", "similar_text": "内容相似"}
HANDOFF_ZH = {"110": "公安110", "119": "消防119", "120": "急救120"}
_CENTRE_TTL = 60.0
_centres: dict[tuple[str, int | None], tuple[float, str | None]] = {}


@dataclass(frozen=True)
class CategorySuggestion:
    label: str
    confidence: float
    code: str | None = None
    name: str | None = None
    path_zh: str | None = None
    level: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name or self.label,
            "path_zh": self.path_zh or self.label,
            "confidence": round(self.confidence, 4),
            "label": self.label,
            "level": self.level,
        }


@dataclass
class Analysis:
    categories: list[CategorySuggestion] = field(default_factory=list)
    decided: CategorySuggestion | None = None
    threshold: float | None = None
    model_version: str | None = None
    region: RegionMatch | None = None
    region_source: str = "address"
    routing: routing.RoutingDecision | None = None
    routed_on: str = "none"  # decided | suggested | given | none
    urgency: UrgencyAssessment | None = None
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    duplicates_index: str = "off"
    masked: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)


class _Timer:
    def __init__(self, sink: dict[str, float]) -> None:
        self.sink = sink
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.sink[name] = round((now - self.t) * 1000, 3)
        self.t = now


def centre_region(session: Session, key: str, unit_id: int | None) -> str | None:
    now = time.monotonic()
    cached = _centres.get((key, unit_id))
    if cached is not None and cached[0] > now:
        return cached[1]
    code = repository.centre_region(session, unit_id)
    _centres[(key, unit_id)] = (now + _CENTRE_TTL, code)
    return code


def classify(model: model_registry.ActiveModel, tree: category_map.CategoryTree, text: str) -> tuple[
    list[CategorySuggestion], CategorySuggestion | None, float | None
]:
    """Top-3 finest labels, and the deepest confident category on one hierarchy path."""
    clf = model.classifier
    proba = clf.predict_proba([text])
    top = np.argsort(-proba[0], kind="stable")[:3]
    suggestions = [_suggestion(tree, clf.classes[j], float(proba[0, j])) for j in top]
    decided: CategorySuggestion | None = None
    threshold: float | None = None
    prefix = ""
    for level in range(1, clf.depth + 1):
        names, agg = clf.level_proba(proba, level)
        options = [(p, n) for n, p in zip(names, agg[0], strict=True) if not prefix or n.startswith(prefix + LEVEL_SEP)]
        if not options:
            break
        p, name = max(options)
        candidate = _suggestion(tree, name, float(p), level)
        node = tree.by_code.get(candidate.code or "")
        if node is None or not node.active:
            break
        needed = model.threshold_for(list(node.chain))
        if p < needed:
            if decided is None:
                threshold = needed
            break
        decided, prefix, threshold = candidate, name, needed
    return suggestions, decided, threshold


def _suggestion(tree: category_map.CategoryTree, label: str, confidence: float, level: int | None = None) -> CategorySuggestion:
    node = tree.node_for_label(label)
    depth = level or label.count(LEVEL_SEP) + 1
    if node is None:
        return CategorySuggestion(label, confidence, level=depth)
    return CategorySuggestion(label, confidence, node.code, node.name, node.path_zh, node.level)


def urgency_dict(assessment: UrgencyAssessment | None) -> dict[str, Any]:
    if assessment is None:
        return {"level": "normal", "level_zh": URGENCY_ZH[Urgency.NORMAL], "reasons": [], "handoff": []}
    reasons = [
        {
            "word": "、".join(r.words),
            "words": list(r.words),
            "label": r.label,
            "rule": r.rule,
            "level": r.level.value,
            "handoff": r.handoff,
        }
        for r in assessment.reasons
    ]
    return {
        "level": assessment.level.value,
        "level_zh": URGENCY_ZH[Urgency(assessment.level.value)],
        "reasons": reasons,
        "handoff": list(assessment.handoff),
        "handoff_zh": [HANDOFF_ZH.get(h, h) for h in assessment.handoff],
        "emergency_handoff": bool(assessment.handoff),
        "negated": [{"word": "、".join(r.words), "label": r.label} for r in assessment.negated],
    }


def region_dict(match: RegionMatch | None, source: str) -> dict[str, Any]:
    if match is None:
        return {"code": None, "name": None, "names": [], "matched": [], "confidence": 0.0, "ambiguous": False,
                "candidates": [], "source": source}
    parts = [p for p in (match.province, match.city, match.county, match.township) if p is not None]
    return {
        "code": match.code,
        "name": region_name(match.code or ""),
        "names": [p.name for p in parts],
        "levels": {level: {"code": p.code, "name": p.name} for level, p in
                   (("province", match.province), ("city", match.city), ("county", match.county),
                    ("township", match.township)) if p is not None},
        "matched": list(match.matched),
        "confidence": match.confidence,
        "ambiguous": match.ambiguous,
        "candidates": [{"code": d.code, "name": region_name(d.code)} for d in match.candidates],
        "used_default_city": match.used_default_city,
        "source": source,
    }


def analyze(
    session: Session,
    *,
    title: str,
    content: str,
    address: str | None,
    phone: str | None,
    now: datetime,
    tz: ZoneInfo,
    unit_id: int | None = None,
    given_category: str | None = None,
    duplicates: bool = True,
    visible: object | None = None,
    exclude_order_id: int | None = None,
    window: timedelta | None = None,
    on_index_missing: Callable[[], None] | None = None,
) -> Analysis:
    """Analyse one appeal (see the module docstring). ``given_category`` (a person chose it)
    is routed instead of the model's; ``visible`` restricts the duplicates to orders the
    caller may see; ``on_index_missing`` is called when the duplicate index is not built yet
    (the API passes "start building it")."""
    out = Analysis()
    timer = _Timer(out.timings_ms)
    key = model_registry.db_key(session)
    tree = category_map.tree(session, key)
    model = model_registry.active(session)
    timer.lap("load")
    if model is not None:
        out.model_version = model.version
        out.categories, out.decided, out.threshold = classify(model, tree, model.text(title, content))
    timer.lap("classify")
    city = centre_region(session, key, unit_id)
    table = resolver()
    out.region = table.resolve(address, default_city_code=city) if address else None
    if out.region is None:
        text_match = table.resolve(f"{title} {content}", default_city_code=city)
        if text_match is not None:
            out.region, out.region_source = text_match, "text"
    timer.lap("region")
    if given_category:
        category, out.routed_on = given_category, "given"
    elif out.decided is not None:
        category, out.routed_on = out.decided.code, "decided"
    elif out.categories and out.categories[0].code:
        category, out.routed_on = out.categories[0].code, "suggested"
    else:
        category, out.routed_on = None, "none"
    region_code = out.region.code if out.region is not None else None
    out.routing = routing.route(
        session, category, region_code, now.astimezone(tz).date(), chain=tree.chain(category), category_names=tree.names
    )
    timer.lap("routing")
    out.urgency = default_rules().assess(f"{title}。{content}", month=now.astimezone(tz).month)
    timer.lap("urgency")
    if duplicates:
        out.duplicates, out.duplicates_index = _duplicates(
            session, key, title, content, phone, address, now, tz, window, visible, exclude_order_id, on_index_missing
        )
    timer.lap("duplicates")
    out.masked = {
        "title": mask_text(title),
        "content": mask_text(content),
        "pii": [{"kind": m.kind.value, "masked": m.masked} for m in find_pii(f"{title}\n{content}")],
    }
    timer.lap("masking")
    out.timings_ms["total"] = round(sum(out.timings_ms.values()), 3)
    return out


def _duplicates(
    session: Session,
    key: str,
    title: str,
    content: str,
    phone: str | None,
    address: str | None,
    now: datetime,
    tz: ZoneInfo,
    window: timedelta | None,
    visible: object | None,
    exclude_order_id: int | None,
    on_index_missing: Callable[[], None] | None,
) -> tuple[list[dict[str, Any]], str]:
    h = dupes.holder(key)
    if h.state != "ready" and on_index_missing is not None:
        on_index_missing()
    result = h.search(title, content, phone, address, now, window, limit=5, exclude_order_id=exclude_order_id)
    if result is None:
        return [], h.state
    orders = repository.orders_brief(session, [m.order_id for m in result.matches], visible)
    items = []
    for m in result.matches:
        order = orders.get(m.order_id)
        if order is None:
            continue
        reasons = [
            f"{REASON_ZH[r]}（{m.text_similarity:.0%}）" if r == "similar_text" else REASON_ZH.get(r, r) for r in m.reasons
        ]
        items.append({
            "number": order.number,
            "title": mask_text(order.title),
            "status": order.status,
            "status_zh": STATUS_ZH[Status(order.status)],
            "score": m.score,
            "reasons": reasons,
            "reason_codes": list(m.reasons),
            "text_similarity": m.text_similarity,
            "created_at": order.created_at.astimezone(tz).isoformat(),
            "unit": {"code": order.current_unit.code, "name": order.current_unit.name} if order.current_unit else None,
        })
    return items, "ready"


def to_response(a: Analysis) -> dict[str, Any]:
    """The JSON the intake form reads (shape fixed by ``web/static/js/intake.js``)."""
    decision = a.routing.to_dict() if a.routing is not None else {"code": None}
    decision |= {"based_on": a.routed_on}
    return {
        "categories": [c.to_dict() for c in a.categories],
        "decided_category": a.decided.to_dict() if a.decided else None,
        "threshold": a.threshold,
        "model_version": a.model_version,
        "unit": decision,
        "urgency": urgency_dict(a.urgency),
        "region": region_dict(a.region, a.region_source),
        "duplicates": a.duplicates,
        "duplicates_index": a.duplicates_index,
        "masked": a.masked,
        "timings_ms": a.timings_ms,
    }
