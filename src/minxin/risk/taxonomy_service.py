"""The active risk taxonomy: read on every intake, compiled once per version, edited by admins.

Why a per-process cache keyed by content hash: the matcher over 122 labels (an Aho–Corasick
automaton) takes milliseconds to build and microseconds to run. The active version's ``(id, hash)``
(one indexed row) is re-read at most every ``REF_TTL`` seconds per database; the mapping is loaded
and compiled only when the hash is new to this process. An admin's edit takes effect at once in
the process that saved it and within ``REF_TTL`` in every other, without cross-process signalling.

Invariants: a stored version always passes :func:`minxin.core.risk.taxonomy.load_taxonomy` (it is
validated before it is saved); with no stored version the packaged default is active.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import event
from sqlalchemy.orm import Session

from minxin.core.risk.tagging import CompiledTaxonomy, compile_taxonomy
from minxin.core.risk.taxonomy import Taxonomy, TaxonomyError, load_taxonomy
from minxin.errors import Invalid, NotFound
from minxin.risk import repository
from minxin.risk.models import TaxonomyVersion
from minxin.risk.taxonomy_file import read_taxonomy_mapping

__all__ = ["active", "default_compiled", "export_yaml", "history", "parse_text", "save", "to_dict"]

_lock = threading.Lock()
_by_hash: dict[str, CompiledTaxonomy] = {}
_default: list[CompiledTaxonomy] = []
_refs: dict[str, tuple[float, tuple[int, str] | None]] = {}
MAX_CACHED = 8
MAX_BYTES = 2 * 1024 * 1024
REF_TTL = 2.0


def default_compiled() -> CompiledTaxonomy:
    """The packaged default taxonomy, compiled once per process."""
    with _lock:
        if _default:
            return _default[0]
    compiled = compile_taxonomy(load_taxonomy(read_taxonomy_mapping()))
    with _lock:
        if not _default:
            _default.append(compiled)
        return _default[0]


def _active_ref(session: Session) -> tuple[int, str] | None:
    """The active version's (id, hash), re-read at most every ``REF_TTL`` seconds per database:
    an intake then costs no taxonomy query at all; an edit reaches other processes within the TTL
    and this one at once (the cache is cleared when a save commits)."""
    key = str(session.get_bind().url)
    now = time.monotonic()
    with _lock:
        hit = _refs.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    ref = repository.active_taxonomy_ref(session)
    with _lock:
        _refs[key] = (now + REF_TTL, ref)
    return ref


def forget_active() -> None:
    with _lock:
        _refs.clear()


def active(session: Session) -> tuple[CompiledTaxonomy, int | None]:
    """The compiled active taxonomy and its version id (None: the packaged default)."""
    ref = _active_ref(session)
    if ref is None:
        return default_compiled(), None
    version_id, content_hash = ref
    with _lock:
        hit = _by_hash.get(content_hash)
    if hit is not None:
        return hit, version_id
    row = repository.taxonomy_version(session, version_id)
    assert row is not None
    compiled = compile_taxonomy(load_taxonomy(row.mapping))
    with _lock:
        if len(_by_hash) >= MAX_CACHED:
            _by_hash.pop(next(iter(_by_hash)))
        _by_hash[content_hash] = compiled
    return compiled, version_id


def active_mapping(session: Session) -> tuple[dict[str, Any], TaxonomyVersion | None]:
    ref = repository.active_taxonomy_ref(session)  # uncached: admins read what was just saved
    if ref is None:
        return read_taxonomy_mapping(), None
    row = repository.taxonomy_version(session, ref[0])
    assert row is not None
    return dict(row.mapping), row


def parse_text(text: str, filename: str = "taxonomy.yaml") -> dict[str, Any]:
    """A taxonomy mapping from YAML or JSON text (JSON is YAML); 422 when it is not a mapping."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise Invalid("分类文件过大（上限 2 MB）", "The taxonomy file is larger than 2 MB", code="risk.taxonomy_too_large")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"{filename} 不是合法的 YAML/JSON", f"{filename} is not valid YAML/JSON: {exc}",
                      code="risk.taxonomy_invalid") from exc
    if not isinstance(data, dict):
        raise Invalid("风险分类须为一个映射（version / roles / categories）",
                      "The taxonomy must be a mapping with version, roles and categories", code="risk.taxonomy_invalid")
    return data


def _validate(mapping: dict[str, Any]) -> Taxonomy:
    try:
        return load_taxonomy(mapping)
    except (TaxonomyError, TypeError, AttributeError, ValueError) as exc:  # odd shapes are the admin's typo too
        raise Invalid(f"风险分类校验失败：{exc}", f"Invalid taxonomy: {exc}", code="risk.taxonomy_invalid",
                      details={"problem": str(exc)}) from exc


def save(session: Session, mapping: dict[str, Any], *, by: str, now: datetime, note: str = "") -> tuple[TaxonomyVersion, bool]:
    """Validate and store ``mapping`` as the new active version. Returns ``(row, created)``;
    saving the content that is already active creates nothing (``created`` False)."""
    taxonomy = _validate(mapping)
    _, current = active_mapping(session)
    if current is not None and current.content_hash == taxonomy.content_hash:
        return current, False
    if current is None and taxonomy.content_hash == default_compiled().taxonomy.content_hash:
        note = note or "packaged default"
    forget_active()
    event.listen(session, "after_commit", lambda _s: forget_active(), once=True)
    row = TaxonomyVersion(
        version=taxonomy.version[:60], content_hash=taxonomy.content_hash, mapping=mapping,
        label_count=len(taxonomy.labels), note=note[:500], created_by=by, created_at=now,
    )
    return repository.add_taxonomy_version(session, row), True


def export_yaml(mapping: dict[str, Any]) -> str:
    return yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False, width=120)


def to_dict(session: Session, *, include_mapping: bool = True) -> dict[str, Any]:
    """The active taxonomy for the API: version, hash, counts, the mapping and the history."""
    mapping, row = active_mapping(session)
    taxonomy = _validate(mapping)
    data: dict[str, Any] = {
        "version": taxonomy.version,
        "content_hash": taxonomy.content_hash,
        "source": "database" if row is not None else "packaged",
        "version_id": row.id if row else None,
        "saved_by": row.created_by if row else None,
        "saved_at": row.created_at.isoformat() if row else None,
        "categories": len(taxonomy.categories),
        "labels": len(taxonomy.labels),
        "history": history(session),
    }
    if include_mapping:
        data["mapping"] = mapping
    return data


def history(session: Session) -> list[dict[str, Any]]:
    return [
        {"id": r.id, "version": r.version, "content_hash": r.content_hash, "labels": r.label_count, "note": r.note,
         "saved_by": r.created_by, "saved_at": r.created_at.isoformat(), "active": r.active}
        for r in repository.taxonomy_versions(session)
    ]


def version_mapping(session: Session, version_id: int) -> dict[str, Any]:
    row = repository.taxonomy_version(session, version_id)
    if row is None:
        raise NotFound(f"风险分类版本不存在：{version_id}", f"No taxonomy version {version_id}", code="risk.taxonomy_not_found")
    return dict(row.mapping)


def label_names(compiled: CompiledTaxonomy) -> dict[str, tuple[str, str]]:
    """label code → (label name, category name), for presenters."""
    return {lb.code: (lb.name, cat.name) for cat in compiled.taxonomy.categories for lb in cat.labels}
