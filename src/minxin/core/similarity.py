"""Text similarity for duplicate detection: character-bigram MinHash signatures and LSH band keys.

Why MinHash over character bigrams: Chinese appeals have no spaces, and the same complaint told
twice shares most of its two-character words (停水, 三天, 小区名) while word order and filler
change. The Jaccard similarity of bigram sets captures that; MinHash estimates it from a
fixed-size signature, and LSH banding turns "find texts with Jaccard ≥ ~0.4" into a few exact
bucket look-ups instead of a scan of the history (see :mod:`minxin.intake.duplicates`).

Pipeline (all vectorised with numpy, deterministic for a given seed):

* :func:`normalise_text`: full-width → half-width, lower case, punctuation/space removed, every run of digits
  collapsed to ``#`` (dates, amounts and house numbers differ between retellings), cut to
  ``max_chars``.
* shingles: each text becomes ``\\0`` + text; every adjacent code-point pair ``(a, b)`` with
  ``b != 0`` is the 42-bit integer ``a << 21 | b`` (exact, no hash collisions). A one-character
  text still has one shingle; an empty text has none and never matches on text.
* signature: ``num_perm`` multiply-shift hashes ``(a_i * x + b_i) mod 2**64``, keep the top 32
  bits of the minimum. ``min`` commutes with the shift, so the shift is done after the
  reduction.
* bands: ``bands × rows = num_perm``; band ``j`` is hashed from its ``rows`` values to a
  uint32 key. Two texts share a band key with probability ``1 - (1 - J**rows)**bands``
  (20 × 3: J=0.3 → 0.42, 0.4 → 0.73, 0.5 → 0.93, 0.6 → 0.99; unrelated appeals have J≈0.01).
* stored signature: only the low 8 bits of each value (b-bit MinHash), 1 byte per
  permutation; :func:`estimate_jaccard` removes the 1/256 chance agreement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")
_SLICE = 1 << 15
_FW_LETTER = re.compile("[\uff21-\uff3a\uff41-\uff5a]")

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]


def normalise_text(text: str, max_chars: int = 400) -> str:
    """The form of a text that shingles are taken from (see module docstring)."""
    # Punctuation is removed, so twice the budget is plenty. ``\d`` already matches full-width
    # digits; only full-width letters are folded (full NFKC costs more than the rest together).
    s = _NON_WORD.sub("", text[: max_chars * 2])
    s = _DIGITS.sub("#", _FW_LETTER.sub(lambda m: chr(ord(m.group()) - 0xFEE0), s).lower())
    return s[:max_chars]


def shingles(normalised: str) -> U64:
    """The bigram shingles of one normalised text (may contain repeats; MinHash ignores them)."""
    if not normalised:
        return np.empty(0, dtype=np.uint64)
    codes = np.frombuffer(("\0" + normalised).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return (codes[:-1] << np.uint64(21)) | codes[1:]


def exact_jaccard(a: str, b: str, max_chars: int = 400) -> float:
    """Exact bigram Jaccard of two texts (reference for tests and the naive benchmark)."""
    sa = set(shingles(normalise_text(a, max_chars)).tolist())
    sb = set(shingles(normalise_text(b, max_chars)).tolist())
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


@dataclass(frozen=True)
class MinHasher:
    """MinHash + LSH parameters. Signatures from different hashers are not comparable."""

    bands: int = 20
    rows: int = 3
    seed: int = 20261126
    _a: U64 = field(init=False, repr=False, compare=False)
    _b: U64 = field(init=False, repr=False, compare=False)
    _band_mul: U64 = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError("bands and rows must be positive")
        rng = np.random.default_rng(self.seed)
        a = rng.integers(1, 2**63, size=self.num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        b = rng.integers(0, 2**63, size=self.num_perm, dtype=np.uint64)
        mul = rng.integers(1, 2**63, size=(self.bands, self.rows), dtype=np.uint64) * np.uint64(
            2
        ) + np.uint64(1)
        object.__setattr__(self, "_a", a)
        object.__setattr__(self, "_b", b)
        object.__setattr__(self, "_band_mul", mul)

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    def signature(self, shingle_ids: U64) -> U32 | None:
        """The full 32-bit signature of one shingle array, or None for an empty text."""
        if shingle_ids.size == 0:
            return None
        h = self._a[:, None] * shingle_ids[None, :] + self._b[:, None]
        return (h.min(axis=1) >> np.uint64(32)).astype(np.uint32)

    def signatures(self, texts: Sequence[str]) -> tuple[U32, npt.NDArray[np.bool_]]:
        """Signatures of many normalised texts at once: ``(n, num_perm)`` and a has-text mask.

        ``texts`` come from :func:`normalise_text` (so contain no NUL). Rows of empty texts are
        all ones and must not be banded (mask False).
        """
        n = len(texts)
        sig = np.full((n, self.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        if n == 0:
            return sig, np.zeros(0, dtype=bool)
        codes = np.frombuffer("".join("\0" + t for t in texts).encode("utf-32-le"), dtype=np.uint32)
        wide = codes.astype(np.uint64)
        # "\0" + t has len(t) bigrams whose second code is not the separator, in record order.
        x = ((wide[:-1] << np.uint64(21)) | wide[1:])[codes[1:] != 0]
        del wide
        counts = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
        has = counts > 0
        if not has.any():
            return sig, has
        starts = np.concatenate(([0], np.cumsum(counts)))  # shingle offset of every record
        rows = np.flatnonzero(has)
        out = np.empty((self.num_perm, len(rows)), dtype=np.uint64)
        # Work in slices of about _SLICE shingles so the passes over them stay in cache.
        row_starts = starts[rows]
        lo = 0
        while lo < len(rows):
            hi = int(np.searchsorted(row_starts, row_starts[lo] + _SLICE, "right"))
            hi = max(hi, lo + 1)
            first, last = starts[rows[lo]], starts[rows[hi - 1] + 1]
            xs = x[first:last]
            offs = starts[rows[lo:hi]] - first
            tmp = np.empty_like(xs)
            for i in range(self.num_perm):
                np.multiply(xs, self._a[i], out=tmp)
                tmp += self._b[i]
                out[i, lo:hi] = np.minimum.reduceat(tmp, offs)
            lo = hi
        sig[rows] = (out >> np.uint64(32)).astype(np.uint32).T
        return sig, has

    def band_keys(self, sig: U32) -> U32:
        """uint32 LSH keys, shape ``(bands,)`` for one signature or ``(n, bands)`` for many."""
        s = np.atleast_2d(sig).astype(np.uint64).reshape(-1, self.bands, self.rows)
        h = (s * self._band_mul[None, :, :]).sum(axis=2, dtype=np.uint64)
        h += np.arange(self.bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        keys = (h >> np.uint64(32)).astype(np.uint32)
        return keys[0] if sig.ndim == 1 else keys


def compact_signature(sig: U32) -> U8:
    """The stored form of a signature: the low 8 bits of each value (b-bit MinHash)."""
    return (sig & np.uint32(0xFF)).astype(np.uint8)


def estimate_jaccard(query: U8, stored: U8) -> npt.NDArray[np.float64]:
    """Jaccard estimates of one compact signature against rows of others (b-bit corrected)."""
    agree = (np.atleast_2d(stored) == query).mean(axis=1)
    return np.clip((agree - 1 / 256) / (1 - 1 / 256), 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """How a candidate's score is made; the defaults sum to 1 so a score is in [0, 1].

    ``score = text * J + phone * [same phone] + address * [same address]``, capped at 1, where J
    is the estimated text Jaccard. A copy-paste of the same text from another caller (J≈1)
    scores 0.6; the same caller about the same place with an unrelated text scores 0.4; the
    same caller, place and text scores 1.
    """

    text: float = 0.6
    phone: float = 0.25
    address: float = 0.15


def combine_score(
    text_similarity: float, same_phone: bool, same_address: bool, weights: ScoreWeights
) -> float:
    score = weights.text * text_similarity + weights.phone * same_phone + weights.address * same_address
    return min(1.0, round(score, 4))
