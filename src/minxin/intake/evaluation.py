"""Evaluation, cross-validation and the file-level train/eval workflows behind the CLI.

The eval report is a plain JSON-able dict whose key names are fixed by the CLI contract:
``macro_f1``, ``accuracy``, ``top3_accuracy``, ``n``, ``per_class`` ({label: {precision,
recall, f1, support}}), plus ``ece`` (expected calibration error of the top-1 confidence)
and, for hierarchical labels, ``levels`` with the same metrics per level.

Labels seen only at evaluation time count as errors (the model cannot predict them) and
are reported in ``unknown_labels`` so a mismatch of label spellings is visible at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from minxin.intake.classifier import (
    ProgressFn,
    TextClassifier,
    TrainParams,
    fold_splits,
    group_ids,
    load_model,
    train,
)
from minxin.intake.table import LEVEL_SEP, load_table

BATCH = 256
ECE_BINS = 15


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Weighted mean gap between confidence and accuracy over equal-width confidence bins."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def _metrics(
    truth: Sequence[str], proba: np.ndarray, names: Sequence[str], *, per_class: bool = True
) -> dict[str, Any]:
    """Metrics for one label level, given probabilities over ``names``."""
    truth_arr = np.array(truth, dtype=object)
    names_arr = np.array(names, dtype=object)
    order = np.argsort(-proba, axis=1, kind="stable")
    predicted = names_arr[order[:, 0]]
    top3 = np.array([t in set(names_arr[row[:3]]) for t, row in zip(truth_arr, order, strict=True)])
    correct = predicted == truth_arr
    labels = sorted(set(truth_arr) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth_arr, predicted, labels=labels, zero_division=0
    )
    result: dict[str, Any] = {
        "n": len(truth_arr),
        "macro_f1": float(np.mean(f1)) if len(f1) else 0.0,
        "accuracy": float(correct.mean()) if len(correct) else 0.0,
        "top3_accuracy": float(top3.mean()) if len(top3) else 0.0,
        "ece": expected_calibration_error(proba.max(axis=1), correct.astype(float)),
    }
    if per_class:
        result["per_class"] = {
            str(label): {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        }
    return result


def evaluate(
    model: TextClassifier,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    progress: ProgressFn | None = None,
    per_class: bool = True,
) -> dict[str, Any]:
    """Score ``model`` on labelled texts; see the module docstring for the keys."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError("nothing to evaluate: no rows")
    parts = []
    for start in range(0, len(texts), BATCH):
        if progress:
            progress("predict", start, len(texts))
        parts.append(model.predict_proba(list(texts[start : start + BATCH])))
    if progress:
        progress("predict", len(texts), len(texts))
    proba = np.vstack(parts)
    known = set(model.classes)
    report = _metrics(labels, proba, model.classes, per_class=per_class)
    report["unknown_labels"] = sorted({lab for lab in labels if lab not in known})
    depth = max(model.depth, max(lab.count(LEVEL_SEP) + 1 for lab in labels))
    if depth > 1:
        report["levels"] = {}
        for level in range(1, depth + 1):
            names, agg = model.level_proba(proba, level)
            truth = [LEVEL_SEP.join(lab.split(LEVEL_SEP)[:level]) for lab in labels]
            report["levels"][str(level)] = _metrics(truth, agg, names, per_class=per_class)
    return report


def _summary(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    n_folds: int = 5,
    progress: ProgressFn | None = None,
    **params: Any,
) -> dict[str, Any]:
    """Stratified, group-aware k-fold CV: every fold refits everything (vocabulary included).

    Returns ``{"folds": n, "macro_f1": {"mean", "std"}, "accuracy": ..., "top3_accuracy": ...,
    "ece": ..., "per_fold": [...]}`` (plus ``levels`` for hierarchical labels).
    """
    p = TrainParams.from_kwargs(params)
    texts, labels = list(texts), list(labels)
    y = np.unique(np.array(labels, dtype=object), return_inverse=True)[1]
    per_fold: list[dict[str, Any]] = []
    for i, (tr, te) in enumerate(fold_splits(y, group_ids(texts), n_folds, p.random_state)):
        if progress:
            progress("cross-validate", i, n_folds)
        model = train([texts[j] for j in tr], [labels[j] for j in tr], **params)
        per_fold.append(evaluate(model, [texts[j] for j in te], [labels[j] for j in te], per_class=False))
    if progress:
        progress("cross-validate", n_folds, n_folds)
    keys = ("macro_f1", "accuracy", "top3_accuracy", "ece")
    result: dict[str, Any] = {"folds": n_folds, **{k: _summary([f[k] for f in per_fold]) for k in keys}}
    if "levels" in per_fold[0]:
        result["levels"] = {
            level: {k: _summary([f["levels"][level][k] for f in per_fold]) for k in keys}
            for level in per_fold[0]["levels"]
        }
    result["per_fold"] = [{k: round(f[k], 4) for k in keys} for f in per_fold]
    return result


def train_file(
    path: str | Path,
    text_col: str,
    label_col: str,
    *,
    out: str | Path | None = None,
    progress: ProgressFn | None = None,
    created_at: datetime | None = None,
    cv_folds: int = 0,
    **params: Any,
) -> tuple[TextClassifier, Path, dict[str, Any]]:
    """Train from a CSV/XLSX file and save the model; returns ``(model, path, summary)``.

    ``out`` defaults to ``<file stem>.model.zip`` beside the data. With ``cv_folds`` ≥ 2 the
    CV metrics are computed first and stored in the model's metadata.
    """
    table = load_table(path, text_col, label_col)
    if len(table) == 0:
        raise ValueError(f"{path}: no usable rows ({table.dropped} dropped for empty text or label)")
    cv = (
        cross_validate(table.texts, table.labels, n_folds=cv_folds, progress=progress, **params)
        if cv_folds >= 2
        else None
    )
    extra = {
        "source": {
            "file": Path(path).name,
            "file_sha256": table.sha256,
            "text_col": text_col,
            "label_col": label_col,
            "dropped_rows": table.dropped,
        },
        "cv": cv,
    }
    model = train(
        table.texts, table.labels, progress=progress, created_at=created_at, extra_metadata=extra, **params
    )
    target = Path(out) if out else Path(path).with_name(Path(path).stem + ".model.zip")
    model.save(target)
    summary = {
        "model": str(target),
        "rows": len(table),
        "dropped_rows": table.dropped,
        "classes": len(model.classes),
        "depth": model.depth,
        "train_seconds": model.metadata["train_seconds"],
        "temperature": round(model.temperature, 4),
        "file_bytes": target.stat().st_size,
    }
    if cv:
        summary["cv"] = {k: cv[k] for k in ("folds", "macro_f1", "accuracy", "top3_accuracy", "ece")}
    return model, target, summary


def eval_file(
    path: str | Path,
    model_path: str | Path,
    text_col: str,
    label_col: str,
    *,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Evaluate a saved model on a labelled CSV/XLSX file; adds ``dropped_rows`` and ``model``."""
    model = load_model(model_path)
    table = load_table(path, text_col, label_col)
    report = evaluate(model, table.texts, table.labels, progress=progress)
    report["dropped_rows"] = table.dropped
    report["model"] = {
        "path": str(model_path),
        "created_at": model.metadata.get("created_at"),
        "data_sha256": model.metadata.get("data_sha256"),
        "n_rows": model.metadata.get("n_rows"),
    }
    return report
