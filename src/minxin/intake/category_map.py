"""The category tree in memory, and the mapping from a classifier's labels to categories.

A centre trains its classifier on whatever labels its history has: category codes
(``080101``), names (``停电``), or level paths of names (``公用事业/电力供应/停电``, from
``--label-col 一级分类,二级分类,三级分类``). A label maps to a category by, in order:

1. its code (the whole label, or its last ``/`` segment);
2. its full name path (``城乡建设/市政设施`` → ``0101``);
3. its last name, when exactly one category has that name (preferring the label's level).

A label that maps nowhere is still shown (``code: null``) but never applied or routed.

The tree is cached per database for ``TREE_TTL`` seconds (categories change rarely and only
by admins); ``invalidate`` drops it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.orm import Session

from minxin.intake import repository
from minxin.intake.table import LEVEL_SEP

TREE_TTL = 60.0


@dataclass(frozen=True)
class CategoryNode:
    id: int
    code: str
    name: str
    level: int
    chain: tuple[str, ...]  # ancestor-or-self codes, root first
    path_zh: str  # 公用事业/电力供应/停电
    active: bool


class CategoryTree:
    """Immutable snapshot of the category table."""

    def __init__(self, nodes: list[CategoryNode]) -> None:
        self.by_code = {n.code: n for n in nodes}
        self.by_path = {n.path_zh: n for n in nodes}
        self._by_name: dict[str, list[CategoryNode]] = {}
        for n in nodes:
            self._by_name.setdefault(n.name, []).append(n)
        self._labels: dict[str, CategoryNode | None] = {}
        self._lock = threading.Lock()

    @cached_property
    def names(self) -> dict[str, str]:
        return {code: n.name for code, n in self.by_code.items()}

    def node_for_label(self, label: str) -> CategoryNode | None:
        """The category a classifier label stands for (memoised per label)."""
        if label in self._labels:
            return self._labels[label]
        node = self._map(label)
        with self._lock:
            self._labels[label] = node
        return node

    def _map(self, label: str) -> CategoryNode | None:
        text = label.strip()
        parts = [p.strip() for p in text.split(LEVEL_SEP) if p.strip()]
        if not parts:
            return None
        for candidate in (text, parts[-1]):
            if candidate in self.by_code:
                return self.by_code[candidate]
        path = LEVEL_SEP.join(parts)
        if path in self.by_path:
            return self.by_path[path]
        named = self._by_name.get(parts[-1], [])
        same_level = [n for n in named if n.level == len(parts)]
        if len(same_level) == 1:
            return same_level[0]
        return named[0] if len(named) == 1 else None

    def chain(self, code: str | None) -> list[str]:
        node = self.by_code.get(code or "")
        return list(node.chain) if node else []

    def consistent(self, a: str | None, b: str | None) -> bool:
        """Whether one category is the other or one of its ancestors (a level-1 suggestion is
        not contradicted by a leaf below it)."""
        if not a or not b:
            return False
        if a == b:
            return True
        return a in self.chain(b) or b in self.chain(a)


_lock = threading.Lock()
_trees: dict[str, tuple[float, CategoryTree]] = {}


def build(session: Session) -> CategoryTree:
    rows = repository.categories(session)
    by_id = {c.id: c for c in rows}
    nodes = []
    for c in rows:
        chain = [p for p in (c.path or "").strip("/").split("/") if p] or [c.code]
        names = []
        parent = c
        while parent is not None:
            names.append(parent.name)
            parent = by_id.get(parent.parent_id) if parent.parent_id else None
        nodes.append(CategoryNode(c.id, c.code, c.name, c.level, tuple(chain), LEVEL_SEP.join(reversed(names)), c.active))
    return CategoryTree(nodes)


def tree(session: Session, key: str) -> CategoryTree:
    now = time.monotonic()
    cached = _trees.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    fresh = build(session)
    with _lock:
        _trees[key] = (now + TREE_TTL, fresh)
    return fresh


def invalidate(key: str | None = None) -> None:
    with _lock:
        if key is None:
            _trees.clear()
        else:
            _trees.pop(key, None)
