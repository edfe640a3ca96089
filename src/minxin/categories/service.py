"""Use cases for the category tree: create, update, import a whole tree, read it.

Invariants: at most three levels; ``path`` is ``/<code of level 1>/<code of level 2>/.../``;
a setting such as ``requires_photo`` set on a category applies to its whole subtree.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from minxin.categories import repository
from minxin.categories.models import Category
from minxin.errors import Conflict, Invalid, NotFound
from minxin.units.service import CODE_PATTERN

MAX_LEVEL = 3


def require(session: Session, code: str) -> Category:
    category = repository.get_by_code(session, code)
    if category is None:
        raise NotFound(f"类别不存在：{code}", f"Unknown category '{code}'", code="category.not_found")
    return category


def create_category(
    session: Session,
    *,
    code: str,
    name: str,
    parent_code: str | None = None,
    requires_photo: bool = False,
    fields: list[dict[str, Any]] | None = None,
    description: str | None = None,
) -> Category:
    if not CODE_PATTERN.match(code):
        raise Invalid("类别编码只能包含字母、数字、_ . -", "Category code may use letters, digits, _ . -", code="category.bad_code")
    if not name.strip():
        raise Invalid("类别名称不能为空", "Category name is required", code="category.bad_name")
    if repository.get_by_code(session, code) is not None:
        raise Conflict(f"类别编码已存在：{code}", f"Category code '{code}' exists", code="category.exists")
    parent = require(session, parent_code) if parent_code else None
    level = parent.level + 1 if parent else 1
    if level > MAX_LEVEL:
        raise Invalid("类别最多三级", "Categories have at most three levels", code="category.too_deep")
    category = Category(
        code=code,
        name=name.strip(),
        parent_id=parent.id if parent else None,
        level=level,
        path=f"{parent.path if parent else '/'}{code}/",
        requires_photo=requires_photo,
        active=True,
        fields=fields,
        description=description,
    )
    session.add(category)
    session.flush()
    return category


UPDATABLE = ("name", "requires_photo", "active", "fields", "description")


def update_category(session: Session, code: str, changes: dict[str, Any]) -> Category:
    category = require(session, code)
    for field in UPDATABLE:
        if field in changes:
            setattr(category, field, changes[field])
    return category


def requires_photo(session: Session, category: Category | None) -> bool:
    """Whether replying needs a photo: set on the category or on any of its ancestors."""
    if category is None:
        return False
    for code in category.path.strip("/").split("/"):
        node = category if code == category.code else repository.get_by_code(session, code)
        if node is not None and node.requires_photo:
            return True
    return False


def import_tree(session: Session, nodes: list[dict[str, Any]], parent_code: str | None = None) -> int:
    """Create every node of a nested tree; returns how many were created.

    A node with a ``code`` is matched by code (and updated); a node without one (a CSV row)
    is matched by name under its parent, and a new one gets the next free code
    (``<parent code><two digits>``), so importing into a database that already has a tree
    never renames or duplicates anything.
    """
    created = 0
    for node in nodes:
        if "name" not in node or not str(node["name"]).strip():
            raise Invalid("每个类别需要名称", "Every category needs a name", code="category.bad_file")
        name = str(node["name"]).strip()
        if "code" in node:
            code = str(node["code"])
            existing = repository.get_by_code(session, code)
        else:
            existing = repository.child_by_name(session, parent_code, name)
            code = existing.code if existing else _free_code(session, parent_code)
        if existing is None:
            create_category(
                session,
                code=code,
                name=name,
                parent_code=parent_code,
                requires_photo=bool(node.get("requires_photo", False)),
                fields=node.get("fields"),
                description=node.get("description"),
            )
            created += 1
        elif "code" in node:
            update_category(session, code, {"name": name, "requires_photo": bool(node.get("requires_photo", False))})
        created += import_tree(session, list(node.get("children") or []), code)
    return created


def _free_code(session: Session, parent_code: str | None) -> str:
    prefix = parent_code or ""
    for index in range(1, 100):
        code = f"{prefix}{index:02d}"
        if repository.get_by_code(session, code) is None:
            return code
    raise Invalid("同级类别超过99个", "More than 99 categories under one parent", code="category.bad_file")


def parse_tree_file(path: Path) -> list[dict[str, Any]]:
    """Read a tree from YAML (nested) or CSV (columns 一级分类,二级分类,三级分类 or level1..3).

    CSV rows get generated codes (``01``, ``0101``, ``010101``) in order of first appearance.
    """
    raw = path.read_bytes()
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(raw.decode("utf-8"))
        if not isinstance(data, list):
            raise Invalid("YAML 顶层应为类别列表", "The YAML top level must be a list of categories", code="category.bad_file")
        return data
    if path.suffix.lower() == ".csv":
        return _tree_from_csv(_decode(raw))
    raise Invalid("仅支持 .yaml/.yml/.csv 文件", "Only .yaml, .yml and .csv files are supported", code="category.bad_file")


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("无法识别文件编码（支持 UTF-8 和 GB18030）", "Unknown encoding (UTF-8 or GB18030)", code="category.bad_file")


def _tree_from_csv(text: str) -> list[dict[str, Any]]:
    """Nested name-only nodes from rows of up to three level names (codes assigned on import)."""
    reader = csv.reader(io.StringIO(text))
    if next(reader, None) is None:
        raise Invalid("CSV 文件为空", "The CSV file is empty", code="category.bad_file")
    top: list[dict[str, Any]] = []
    index: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in reader:
        names = [cell.strip() for cell in row[:MAX_LEVEL] if cell.strip()]
        siblings = top
        for depth in range(len(names)):
            key = tuple(names[: depth + 1])
            node = index.get(key)
            if node is None:
                node = {"name": names[depth], "children": []}
                siblings.append(node)
                index[key] = node
            siblings = node["children"]
    return top


def load_default_tree(session: Session) -> int:
    text = resources.files("minxin.categories").joinpath("default_tree.yaml").read_text(encoding="utf-8")
    return import_tree(session, yaml.safe_load(text))


def tree(session: Session) -> list[dict[str, Any]]:
    nodes: dict[int, dict[str, Any]] = {}
    top: list[dict[str, Any]] = []
    for category in repository.list_all(session):
        node = to_dict(category) | {"children": []}
        nodes[category.id] = node
        parent = nodes.get(category.parent_id) if category.parent_id else None
        (parent["children"] if parent else top).append(node)
    return top


def to_dict(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name": category.name,
        "level": category.level,
        "requires_photo": category.requires_photo,
        "active": category.active,
        "fields": category.fields or [],
        "description": category.description,
    }
