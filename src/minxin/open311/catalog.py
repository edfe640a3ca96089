"""Open311 services, service definitions, discovery and the endpoint's settings.

Services are our categories: every active *leaf* category (all ancestors active) is a service
whose ``service_code`` is the category code, ``group`` its first-level name, and whose
definition lists the category's extra ``fields`` as typed attributes. Any active category code
is accepted on POST, so a client may also file at a coarser level.

Settings live in the shared ``app_settings`` table (admins change them through the API or the
CLI; every process reads the same values): accepted ``jurisdiction_id`` values, the contact
and key-service texts of discovery, the public base URL and the appeal type given to Open311
requests. Discovery's ``changeset`` moves whenever the service list or a definition changes
(a fingerprint of both is kept beside it), so clients know when to refresh their cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.accounts import repository as settings_repository
from minxin.categories import repository as categories_repository
from minxin.categories.models import Category
from minxin.core.vocabulary import AppealType

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
_SYNONYMS = {
    "int": "number", "integer": "number", "float": "number", "decimal": "number", "numeric": "number",
    "date": "datetime", "time": "datetime", "timestamp": "datetime",
    "textarea": "text", "longtext": "text", "str": "string", "char": "string",
    "select": "singlevaluelist", "list": "singlevaluelist", "enum": "singlevaluelist", "choice": "singlevaluelist",
    "radio": "singlevaluelist", "bool": "singlevaluelist", "boolean": "singlevaluelist",
    "multiselect": "multivaluelist", "checkbox": "multivaluelist", "multi": "multivaluelist",
}
_DESCRIBE = {
    "string": "文本 / text", "text": "长文本 / long text", "number": "数字 / a number",
    "datetime": "日期时间（ISO 8601）/ date and time (ISO 8601)",
}

PREFIX = "open311."
DEFAULTS: dict[str, str] = {
    "jurisdictions": "minxin.example",
    "contact": "12345 热线中心 / the 12345 hotline centre",
    "key_service": "向热线中心管理员申请接口密钥 / ask the hotline centre's administrator for an API key",
    "public_url": "",
    "appeal_type": AppealType.HELP.value,
}


@dataclass(frozen=True)
class Config:
    jurisdictions: tuple[str, ...]
    contact: str
    key_service: str
    public_url: str
    appeal_type: str

    def jurisdiction_ok(self, value: str | None) -> bool:
        """Absent is fine (one endpoint, one jurisdiction); otherwise it must be ours. An empty
        list accepts any value."""
        return value is None or not self.jurisdictions or value in self.jurisdictions


def config(session: Session) -> Config:
    values = {k: settings_repository.get_setting(session, PREFIX + k) for k in DEFAULTS}
    merged = {k: (v if v is not None else DEFAULTS[k]) for k, v in values.items()}
    return Config(
        jurisdictions=tuple(j.strip() for j in merged["jurisdictions"].split(",") if j.strip()),
        contact=merged["contact"],
        key_service=merged["key_service"],
        public_url=merged["public_url"].rstrip("/"),
        appeal_type=merged["appeal_type"] if merged["appeal_type"] in {a.value for a in AppealType} else "help",
    )


def set_config(session: Session, changes: dict[str, str]) -> Config:
    for key, value in changes.items():
        if key in DEFAULTS and value is not None:
            settings_repository.put_setting(session, PREFIX + key, str(value)[:2000])
    return config(session)


def config_dict(cfg: Config) -> dict[str, Any]:
    return {"jurisdictions": list(cfg.jurisdictions), "contact": cfg.contact, "key_service": cfg.key_service,
            "public_url": cfg.public_url or None, "appeal_type": cfg.appeal_type}


# --- services ------------------------------------------------------------------------------------


def _index(session: Session) -> tuple[list[Category], dict[str, Category], set[int]]:
    everything = categories_repository.list_all(session)
    by_code = {c.code: c for c in everything}
    parents = {c.parent_id for c in everything if c.active and c.parent_id}
    return everything, by_code, parents


def _ancestors(category: Category, by_code: dict[str, Category]) -> list[Category]:
    return [by_code[c] for c in category.path.strip("/").split("/") if c in by_code]


def usable(category: Category | None, by_code: dict[str, Category]) -> bool:
    return category is not None and all(a.active for a in _ancestors(category, by_code))


def service_of(category: Category, by_code: dict[str, Category]) -> dict[str, Any]:
    chain = _ancestors(category, by_code)
    names = [c.name for c in chain]
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or " / ".join(names),
        "metadata": bool(category.fields),
        "type": "realtime",
        "keywords": ",".join(names[:-1]) or None,
        "group": names[0] if names else None,
    }


def services(session: Session) -> list[dict[str, Any]]:
    everything, by_code, parents = _index(session)
    return [service_of(c, by_code) for c in everything if c.id not in parents and usable(c, by_code)]


def find_category(session: Session, code: str) -> Category | None:
    """The active category for a service code, or None."""
    category = categories_repository.get_by_code(session, code)
    if category is None:
        return None
    _, by_code, _ = _index(session)
    return category if usable(category, by_code) else None


def datatype_of(field: dict[str, Any]) -> str:
    raw = str(field.get("datatype") or "string").strip().lower()
    return raw if raw in DATATYPES else _SYNONYMS.get(raw, "string")


def values_of(field: dict[str, Any]) -> list[dict[str, str]]:
    raw = field.get("values") or []
    if not raw and str(field.get("datatype") or "").lower() in ("bool", "boolean"):
        raw = [{"key": "true", "name": "是 / yes"}, {"key": "false", "name": "否 / no"}]
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            key = item.get("key", item.get("value", item.get("code")))
            name = item.get("name", item.get("label", key))
        else:
            key = name = item
        if key is not None:
            out.append({"key": str(key), "name": str(name)})
    return out


def attributes_of(category: Category) -> list[dict[str, Any]]:
    attrs = []
    for order, field in enumerate(category.fields or [], start=1):
        if not isinstance(field, dict) or not field.get("code"):
            continue
        datatype = datatype_of(field)
        values = values_of(field)
        attribute: dict[str, Any] = {
            "variable": bool(field.get("variable", True)),
            "code": str(field["code"]),
            "datatype": datatype,
            "required": bool(field.get("required", False)),
            "datatype_description": field.get("datatype_description")
            or (" | ".join(v["key"] for v in values) if values else _DESCRIBE.get(datatype)),
            "order": int(field.get("order", order)) if str(field.get("order", order)).isdigit() else order,
            "description": str(field.get("label") or field.get("description") or field["code"]),
        }
        if datatype in ("singlevaluelist", "multivaluelist"):
            attribute["values"] = values
        attrs.append(attribute)
    return attrs


def definition(category: Category) -> dict[str, Any]:
    return {"service_code": category.code, "attributes": attributes_of(category)}


def _fingerprint(session: Session) -> str:
    everything, by_code, _parents = _index(session)
    data = [(service_of(c, by_code), c.fields) for c in everything if usable(c, by_code)]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def changeset(session: Session, *, now: datetime) -> str:
    """When the services last changed (updated in the caller's write transaction)."""
    fingerprint = _fingerprint(session)
    stored = settings_repository.get_setting(session, PREFIX + "fingerprint")
    value = settings_repository.get_setting(session, PREFIX + "changeset")
    if stored != fingerprint or value is None:
        value = now.replace(microsecond=0).isoformat()
        settings_repository.put_setting(session, PREFIX + "fingerprint", fingerprint)
        settings_repository.put_setting(session, PREFIX + "changeset", value)
    return value


def discovery(session: Session, *, base_url: str, now: datetime, tz: Any) -> dict[str, Any]:
    cfg = config(session)
    base = cfg.public_url or base_url.rstrip("/")
    stamp = datetime.fromisoformat(changeset(session, now=now)).astimezone(tz).isoformat()
    formats = ["text/xml", "application/json"]
    return {
        "changeset": stamp,
        "contact": cfg.contact,
        "key_service": cfg.key_service,
        "endpoints": [
            {"specification": SPECIFICATION, "url": f"{base}/open311/v2", "changeset": stamp, "type": "production",
             "formats": formats},
            {"specification": SPECIFICATION, "url": f"{base}/open311/test/v2", "changeset": stamp, "type": "test",
             "formats": formats},
        ],
    }
