"""A classifier for the demo, trained on the demo orders themselves.

A fresh demo has no history to learn from, yet the intake form, auto-dispatch and the report
should be visible at once. So after the demo orders exist, this trains a small model on them
— each distinct appeal as title, content, title + content and its clauses, labelled with its
category's level path (``公用事业/电力供应/停电``), so the model can be confident at level 2
(电力供应 → the county power unit) while unsure between leaves — registers it and activates it.
It knows only the demo's thirty appeals: a real centre trains on its own history with
``minxin model train`` and activates that.

Calibration: thirty appeals are too few to fit the softmax temperature. Out of fold, their
variants are perfectly separable, the fit runs to its bound (T ≈ 0.004) and every confidence
— even for 咨询办事流程 — comes out as 1.0, which would auto-dispatch anything. The demo model
is therefore trained without the fit and given ``DEMO_TEMPERATURE`` = 0.2, chosen by hand so
that retellings of its own appeals score about 0.8–0.95 and vague texts stay below 0.5 (its
threshold is ``DEMO_THRESHOLD`` = 0.8).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from minxin.intake import category_map, model_registry, repository
from minxin.intake.classifier import train
from minxin.intake.models import IntakeModel

DEMO_TEMPERATURE = 0.2
DEMO_THRESHOLD = 0.8
_CLAUSES = re.compile(r"[，。！？；,.!?;]")


def training_rows(pairs: list[tuple[str, str, str]]) -> tuple[list[str], list[str]]:
    """(texts, labels) from distinct (title, content, label) appeals."""
    texts: list[str] = []
    labels: list[str] = []
    seen: set[tuple[str, str]] = set()
    for title, content, label in pairs:
        variants = [title, content, f"{title}\n{content}"]
        variants += [c for c in _CLAUSES.split(content) if len(c) >= 6]
        for text in variants:
            if text and (text, label) not in seen:
                seen.add((text, label))
                texts.append(text)
                labels.append(label)
    return texts, labels


def train_demo_model(session: Session, *, now: datetime, models_dir: Path) -> IntakeModel | None:
    """Train, register and activate the demo model; None when there are too few orders."""
    tree = category_map.build(session)
    rows = repository.order_texts(session)
    by_id = {n.id: n for n in tree.by_code.values()}
    pairs = sorted({(t, c, by_id[cid].path_zh) for t, c, cid in rows if cid in by_id})
    texts, labels = training_rows(pairs)
    if len(set(labels)) < 2:
        return None
    model = train(
        texts,
        labels,
        created_at=now,
        calibration_folds=0,
        extra_metadata={"minxin_text": "title+content", "source": {"file": "demo orders", "appeals": len(pairs)}},
    )
    model.temperature = DEMO_TEMPERATURE  # set before the file is written: see the module docstring
    model.metadata["temperature"] = DEMO_TEMPERATURE
    model.metadata["temperature_note"] = "fixed for the demo (too few appeals to fit)"
    models_dir.mkdir(parents=True, exist_ok=True)
    path = model.save(models_dir / "demo-training.model.zip")
    row = model_registry.register(
        session, path, by="demo", now=now, models_dir=models_dir, activate=True, default_threshold=DEMO_THRESHOLD,
        note="演示模型：由演示工单训练",
    )
    path.unlink(missing_ok=True)
    return row
