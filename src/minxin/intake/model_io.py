"""Versioned model files: a zip with a JSON manifest and a joblib payload.

Layout of a ``.mxm`` file (any name works)::

    manifest.json   {"kind", "format_version", "sklearn_version", "metadata": {...}}
    model.joblib    the fitted estimator (joblib pickle, zlib-compressed)

Why a zip with a separate manifest: the format version and training metadata (data hash,
row count, label set, creation time, CV metrics, parameters) can be read and checked
*before* anything is unpickled, so an incompatible file is refused with a clear message
instead of failing deep inside scikit-learn.

Trust model: the payload is a pickle, and unpickling runs code. Model files are produced by
the centre itself (``minxin model train``) and must be treated like executables: load only
files you made or received from someone you trust; never load a model uploaded by a user.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import joblib
import sklearn

KIND = "minxin.text_classifier"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_PAYLOAD = "model.joblib"


class ModelFileError(ValueError):
    """The file is not a minxin model, or was written by an incompatible version."""


def save(path: str | Path, estimator: Any, metadata: dict[str, Any]) -> Path:
    """Write ``estimator`` and its ``metadata`` (JSON-serialisable) to ``path`` atomically."""
    path = Path(path)
    manifest = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "sklearn_version": sklearn.__version__,
        "metadata": metadata,
    }
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer, compress=("zlib", 3))
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(_MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
        archive.writestr(_PAYLOAD, buffer.getvalue())
    tmp.replace(path)
    return path


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a model file, checked for kind and format version; nothing unpickled."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(_MANIFEST).decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path} is not a minxin model file ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise ModelFileError(f"{path} is not a minxin text-classifier model file")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version}, this minxin reads version {FORMAT_VERSION}; "
            "retrain it with `minxin model train`"
        )
    return manifest


def load(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """``(estimator, manifest)`` from a model file, refusing incompatible format versions.

    A different scikit-learn version is allowed (same major) but noted in the manifest's
    ``sklearn_version``; a different major version is refused, because pickled estimators do
    not survive it.
    """
    manifest = read_manifest(path)
    saved = str(manifest.get("sklearn_version", "0"))
    if saved.split(".")[0] != sklearn.__version__.split(".")[0]:
        raise ModelFileError(
            f"{path} was trained with scikit-learn {saved}, this environment has "
            f"{sklearn.__version__}; retrain it with `minxin model train`"
        )
    with zipfile.ZipFile(path) as archive:
        estimator = joblib.load(io.BytesIO(archive.read(_PAYLOAD)))
    return estimator, manifest
