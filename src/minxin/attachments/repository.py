"""Queries for attachments."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from minxin.attachments.models import Attachment, OrderAttachment


def get(session: Session, attachment_id: str) -> Attachment | None:
    return session.get(Attachment, attachment_id)


def of_order(session: Session, order_id: int) -> list[tuple[OrderAttachment, Attachment]]:
    stmt = (
        select(OrderAttachment, Attachment)
        .join(Attachment, Attachment.id == OrderAttachment.attachment_id)
        .where(OrderAttachment.order_id == order_id)
        .order_by(OrderAttachment.event_seq)
    )
    return [(link, a) for link, a in session.execute(stmt)]


def order_ids_of(session: Session, attachment_id: str) -> list[int]:
    stmt = select(OrderAttachment.order_id).where(OrderAttachment.attachment_id == attachment_id)
    return list(session.scalars(stmt))
