"""Seeding the demo: organisation, default categories, orders. Idempotent: a database that
already has units is left alone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from minxin.categories import service as categories_service
from minxin.demo.orders import create_orders
from minxin.demo.organisation import create_organisation
from minxin.intake import demo_model as intake_models
from minxin.routing import defaults as routing_defaults
from minxin.sla import policy_service as sla_policy_service
from minxin.units import repository as units_repository
from minxin.workorders.service import Settings as OrderSettings


def is_seeded(session: Session) -> bool:
    return bool(units_repository.roots(session))


def seed(
    session: Session,
    *,
    password: str,
    now: datetime,
    attachments_root: Path,
    settings: OrderSettings,
    orders: int = 300,
    models_dir: Path | None = None,
) -> list[tuple[str, str, str, str]]:
    users = create_organisation(session, password=password, now=now)
    categories_service.load_default_tree(session)
    sla_policy_service.seed_defaults(session, now=now)  # SLA: default policies into the DB (minxin.sla)
    routing_defaults.seed_defaults(session, now=now)  # routing: demo rules category × region → unit (minxin.routing)
    session.flush()
    create_orders(session, count=orders, now=now, attachments_root=attachments_root, settings=settings)
    # intake: train, register and activate a small classifier on the demo orders (minxin.intake)
    intake_models.train_demo_model(session, now=now, models_dir=models_dir or attachments_root.parent / "models")
    return users
