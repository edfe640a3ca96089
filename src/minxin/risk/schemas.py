"""Request bodies of the risk API (shape only; meaning is checked by :mod:`minxin.risk.alerts`)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from minxin.errors import Invalid


class AlertActionIn(BaseModel):
    """Body of ``POST /api/v1/risk/alerts/{id}/actions/{action}``."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(default="", max_length=4000, description="what was done (intervene), a note, a closing remark")
    attachments: list[str] = Field(default_factory=list, max_length=20, description="ids from POST /api/v1/attachments")
    resolution: Literal["resolved", "false_alarm"] | None = Field(default=None, description="required by close")
    expected_version: int | None = Field(default=None, description="refuse (409) if the alert changed meanwhile")


def parse_action(body: dict[str, Any] | None) -> AlertActionIn:
    try:
        return AlertActionIn.model_validate(body or {})
    except ValidationError as exc:
        raise Invalid(
            "预警操作内容不完整或格式错误", "The alert action's body is incomplete or malformed",
            code="risk.invalid_payload",
            details={"errors": json.loads(exc.json(include_url=False, include_context=False))},
        ) from exc
