"""Read a risk taxonomy from YAML: a given path, or the default shipped with the package.

Why a separate loader: :mod:`minxin.core.risk` is pure (no I/O), so reading files lives here at
the edge. The risk domain stores admin edits in the DB and calls
:func:`minxin.core.risk.taxonomy.load_taxonomy` on the stored mapping the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from minxin.core.risk.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

__all__ = ["DEFAULT_TAXONOMY_NAME", "default_taxonomy_text", "load_taxonomy_file", "read_taxonomy_mapping"]

DEFAULT_TAXONOMY_NAME = "default_taxonomy.yaml"


def default_taxonomy_text() -> str:
    """The packaged default taxonomy (importlib.resources; falls back to this file's folder)."""
    try:
        return resources.files(__package__ or "minxin.risk").joinpath(DEFAULT_TAXONOMY_NAME).read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, TypeError):
        return (Path(__file__).with_name(DEFAULT_TAXONOMY_NAME)).read_text("utf-8")


def read_taxonomy_mapping(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed YAML mapping of ``path`` (or the packaged default when None)."""
    text = default_taxonomy_text() if path is None else Path(path).read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise TaxonomyError(f"{path or DEFAULT_TAXONOMY_NAME}: the YAML document must be a mapping")
    return data


def load_taxonomy_file(path: str | Path | None = None, *, expect_categories: int | None = None) -> Taxonomy:
    """Validated :class:`Taxonomy` from ``path`` (or the packaged default when None)."""
    return load_taxonomy(read_taxonomy_mapping(path), expect_categories=expect_categories)
