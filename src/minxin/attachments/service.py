"""Receiving attachments: type decided by the bytes (not the file name), size-limited, stored
content-addressed by sha256, so the same photo uploaded twice is stored once.

Invariant: a file reaches its final path only complete (written to a temporary name in the
same directory, then renamed), so a crash never leaves a half-written attachment behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import filetype
from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.attachments import repository
from minxin.attachments.models import Attachment
from minxin.errors import Invalid, NotFound, TooLarge
from minxin.workorders import repository as orders_repository

#: content types we accept, by what the bytes say they are
ACCEPTED: dict[str, tuple[str, str]] = {
    "image/jpeg": ("image", "jpg"),
    "image/png": ("image", "png"),
    "image/webp": ("image", "webp"),
    "audio/mpeg": ("audio", "mp3"),
    "audio/x-wav": ("audio", "wav"),
    "audio/amr": ("audio", "amr"),
    "audio/mp4": ("audio", "m4a"),
}
SNIFF_BYTES = 8192


def sniff(head: bytes) -> str | None:
    """The accepted content type of these leading bytes, or None."""
    kind = filetype.guess(head)
    if kind is None:
        return None
    return kind.mime if kind.mime in ACCEPTED else None


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def store(
    session: Session,
    *,
    chunks: Iterable[bytes],
    original_name: str | None,
    actor: Principal,
    now: datetime,
    root: Path,
    max_bytes: int,
) -> Attachment:
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(
                        f"文件超过 {max_bytes // (1024 * 1024)} MB 上限",
                        f"File exceeds the {max_bytes} byte limit",
                        code="attachment.too_large",
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                tmp.write(chunk)
        if size == 0:
            raise Invalid("文件为空", "The file is empty", code="attachment.empty")
        content_type = sniff(head)
        if content_type is None:
            raise Invalid(
                "只接受 JPEG/PNG/WebP 照片和 MP3/WAV/AMR/M4A 录音（按文件内容识别）",
                "Only JPEG, PNG, WebP photos and MP3, WAV, AMR, M4A audio are accepted (checked by content)",
                code="attachment.unsupported_type",
            )
        sha = digest.hexdigest()
        final = blob_path(root, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, final)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    kind, _ext = ACCEPTED[content_type]
    attachment = Attachment(
        id=uuid.uuid4().hex,
        sha256=sha,
        content_type=content_type,
        kind=kind,
        size=size,
        original_name=(original_name or "")[:255] or None,
        uploaded_by_id=actor.user_id,
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    return attachment


def readable(session: Session, attachment_id: str, actor: Principal) -> Attachment:
    """The attachment if the actor uploaded it or may see an order it belongs to; else 404."""
    attachment = repository.get(session, attachment_id)
    if attachment is None:
        raise NotFound("附件不存在", "No such attachment", code="attachment.not_found")
    if actor.sees_everything or (actor.user_id is not None and attachment.uploaded_by_id == actor.user_id):
        return attachment
    for order_id in repository.order_ids_of(session, attachment_id):
        order = orders_repository.get_by_id(session, order_id)
        if order is not None and orders_repository.is_visible(session, order, actor):
            return attachment
    raise NotFound("附件不存在", "No such attachment", code="attachment.not_found")
