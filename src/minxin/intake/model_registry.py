"""The classifier models a server knows: registering files, activating one, thresholds, and
the process-wide cache of the active model.

Versioning: a model's version is ``<trained at, UTC>-<first 8 hex of its training-data
hash>`` (``20261126-031500-1a2b3c4d``), read from the file's manifest without unpickling it.
Registering copies the file to ``<models_dir>/<version>.model.zip`` so the server's models
live in one place, each file beside its metadata, and a retrained model never overwrites the
one in use.

Caching: analysis asks for the active model on every call, so the answer (registry row and
loaded classifier) is cached per database for ``ACTIVE_TTL`` seconds. An activation or a
threshold change made in this process is seen at once (:func:`invalidate`); other processes
(several ``minxin serve`` workers on PostgreSQL) see it within ``ACTIVE_TTL`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from minxin.errors import Invalid, NotFound
from minxin.intake import repository
from minxin.intake.classifier import TextClassifier, load_model
from minxin.intake.model_io import ModelFileError, read_manifest
from minxin.intake.models import IntakeModel

log = logging.getLogger("minxin.intake")

ACTIVE_TTL = 10.0
DEFAULT_THRESHOLD = 0.85
TEXT_FIELDS = ("title+content", "title", "content")
_KEEP_LOADED = 3


@dataclass(frozen=True)
class ActiveModel:
    """The active model as analysis uses it (immutable; replaced, never changed)."""

    version: str
    path: str
    classifier: TextClassifier
    default_threshold: float
    thresholds: dict[str, float] = field(default_factory=dict)
    text_fields: str = "title+content"

    def threshold_for(self, chain: list[str]) -> float:
        """The threshold of the deepest category in ``chain`` (root first) that has one."""
        for code in reversed(chain):
            if code in self.thresholds:
                return float(self.thresholds[code])
        return float(self.default_threshold)

    def text(self, title: str, content: str) -> str:
        if self.text_fields == "title":
            return title or content
        if self.text_fields == "content":
            return content or title
        return "\n".join(part for part in (title, content) if part)


_lock = threading.Lock()
_active: dict[str, tuple[float, ActiveModel | None]] = {}
_loaded: OrderedDict[tuple[str, float], TextClassifier] = OrderedDict()


def db_key(session: Session) -> str:
    """Identifies the database behind a session (caches are per database)."""
    return str(session.get_bind().url)


def invalidate(key: str | None = None) -> None:
    with _lock:
        if key is None:
            _active.clear()
        else:
            _active.pop(key, None)


def _classifier(path: str) -> TextClassifier:
    mtime = Path(path).stat().st_mtime
    with _lock:
        model = _loaded.get((path, mtime))
        if model is not None:
            _loaded.move_to_end((path, mtime))
            return model
    model = load_model(path)
    with _lock:
        _loaded[(path, mtime)] = model
        while len(_loaded) > _KEEP_LOADED:
            _loaded.popitem(last=False)
    return model


def active(session: Session) -> ActiveModel | None:
    """The active model (cached), or None when none is registered or its file cannot be read
    (logged once per TTL; analysis then answers without categories)."""
    key = db_key(session)
    now = time.monotonic()
    cached = _active.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = repository.active_model(session)
    result: ActiveModel | None = None
    if row is not None:
        try:
            result = ActiveModel(
                version=row.version,
                path=row.path,
                classifier=_classifier(row.path),
                default_threshold=float(row.default_threshold),
                thresholds={str(k): float(v) for k, v in (row.thresholds or {}).items()},
                text_fields=str((row.training or {}).get("minxin_text") or "title+content"),
            )
        except (OSError, ModelFileError, ValueError, EOFError) as exc:
            log.warning("intake: cannot load model %s from %s: %s", row.version, row.path, exc)
    with _lock:
        _active[key] = (now + ACTIVE_TTL, result)
    return result


# ----------------------------------------------------------------------------- registry
def version_of(metadata: dict[str, Any], fallback: str) -> str:
    created = str(metadata.get("created_at") or "")
    digest = str(metadata.get("data_sha256") or "")[:8]
    if created:
        try:
            stamp = datetime.fromisoformat(created).strftime("%Y%m%d-%H%M%S")
        except ValueError:
            stamp = ""
        if stamp:
            return f"{stamp}-{digest}" if digest else stamp
    return fallback


def register(
    session: Session,
    path: str | Path,
    *,
    by: str,
    now: datetime,
    models_dir: Path | None = None,
    activate: bool = False,
    default_threshold: float | None = None,
    text_fields: str | None = None,
    note: str = "",
) -> IntakeModel:
    """Register a model file (copied into ``models_dir`` when given). Registering the same
    version again returns the existing row (and activates it if asked)."""
    source = Path(path)
    try:
        manifest = read_manifest(source)
    except ModelFileError as exc:
        raise Invalid(f"不是可用的模型文件：{exc}", str(exc), code="intake.bad_model_file") from exc
    if text_fields is not None and text_fields not in TEXT_FIELDS:
        raise Invalid(f"文本字段应为 {'、'.join(TEXT_FIELDS)}", f"text must be one of {TEXT_FIELDS}", code="intake.bad_text")
    metadata = dict(manifest.get("metadata") or {})
    fallback = "file-" + hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    version = version_of(metadata, fallback)
    row = repository.model_by_version(session, version)
    if row is None:
        target = source.resolve()
        if models_dir is not None:
            models_dir.mkdir(parents=True, exist_ok=True)
            target = (models_dir / f"{version}.model.zip").resolve()
            if target != source.resolve():
                shutil.copyfile(source, target)
        created = metadata.get("created_at")
        try:
            created_at = datetime.fromisoformat(created) if created else now
        except ValueError:
            created_at = now
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=now.tzinfo)
        training = {k: v for k, v in metadata.items() if k != "labels"} | {
            "labels": metadata.get("labels", {}),
            "sklearn_version": manifest.get("sklearn_version"),
            "minxin_text": text_fields or metadata.get("minxin_text") or "title+content",
        }
        row = repository.add_model(
            session,
            IntakeModel(
                version=version,
                path=str(target),
                created_at=created_at,
                registered_at=now,
                registered_by=by,
                training=training,
                active=False,
                thresholds={},
                default_threshold=DEFAULT_THRESHOLD if default_threshold is None else default_threshold,
                note=note,
            ),
        )
    elif default_threshold is not None:
        row.default_threshold = default_threshold
    if activate:
        activate_version(session, version)
    return row


def require(session: Session, version: str) -> IntakeModel:
    row = repository.model_by_version(session, version)
    if row is None:
        raise NotFound(f"模型不存在：{version}", f"No model version '{version}'", code="intake.model_not_found")
    return row


def activate_version(session: Session, version: str) -> IntakeModel:
    """Make ``version`` the only active model (refused when its file is missing)."""
    row = require(session, version)
    if not Path(row.path).is_file():
        raise Invalid(f"模型文件不存在：{row.path}", f"Model file missing: {row.path}", code="intake.model_file_missing")
    repository.deactivate_all_models(session)
    row.active = True
    session.flush()
    invalidate(db_key(session))
    return row


def current_or_404(session: Session) -> IntakeModel:
    row = repository.active_model(session)
    if row is None:
        raise NotFound("尚未启用分类模型", "No active classifier model", code="intake.no_active_model")
    return row


def set_thresholds(
    session: Session, *, default: float | None = None, per_category: dict[str, float] | None = None, replace: bool = False
) -> IntakeModel:
    """Change the active model's thresholds (a value must lie in (0, 1]; ``None`` removes a
    category's own threshold)."""
    row = current_or_404(session)
    for value in [default, *(per_category or {}).values()]:
        if value is not None and not 0.0 < float(value) <= 1.0:
            raise Invalid("阈值应在 0 到 1 之间", "thresholds must lie in (0, 1]", code="intake.bad_threshold")
    if default is not None:
        row.default_threshold = float(default)
    if per_category is not None:
        merged = {} if replace else dict(row.thresholds or {})
        for code, value in per_category.items():
            if value is None:
                merged.pop(code, None)
            else:
                merged[code] = float(value)
        row.thresholds = merged
    session.flush()
    invalidate(db_key(session))
    return row


def model_dict(row: IntakeModel) -> dict[str, Any]:
    training = row.training or {}
    return {
        "version": row.version,
        "path": row.path,
        "active": row.active,
        "created_at": row.created_at.isoformat(),
        "registered_at": row.registered_at.isoformat(),
        "registered_by": row.registered_by,
        "default_threshold": row.default_threshold,
        "thresholds": row.thresholds or {},
        "text": training.get("minxin_text", "title+content"),
        "training": {
            k: training.get(k)
            for k in ("n_rows", "depth", "labels", "data_sha256", "train_seconds", "temperature", "source", "cv", "params")
            if k in training
        },
        "note": row.note,
    }
