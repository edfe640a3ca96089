"""Upload and download of attachments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, UploadFile
from fastapi.responses import FileResponse

from minxin.api.deps import CurrentPrincipal, State
from minxin.attachments import service
from minxin.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["attachments"])
CHUNK = 256 * 1024


def _chunks(upload: UploadFile) -> Iterator[bytes]:
    while chunk := upload.file.read(CHUNK):
        yield chunk


@router.post("/attachments", status_code=201, summary="Upload a photo or a recording (multipart field `file`)")
def upload(file: UploadFile, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        attachment = service.store(
            session,
            chunks=_chunks(file),
            original_name=file.filename,
            actor=principal,
            now=state.clock.now(),
            root=state.settings.attachments_dir,
            max_bytes=state.settings.max_upload_bytes,
        )
        return {
            "id": attachment.id,
            "sha256": attachment.sha256,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "kind": attachment.kind,
        }


@router.get("/attachments/{attachment_id}", summary="Download an attachment you may see", response_model=None)
def download(attachment_id: str, principal: CurrentPrincipal, state: State) -> FileResponse:
    with state.db.reading() as session:
        attachment = service.readable(session, attachment_id, principal)
    path = service.blob_path(state.settings.attachments_dir, attachment.sha256)
    if not path.exists():
        raise NotFound("附件文件缺失", "Attachment file is missing", code="attachment.missing_file")
    ext = service.ACCEPTED[attachment.content_type][1]
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=f"{attachment.id}.{ext}",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
        content_disposition_type="inline",
    )
