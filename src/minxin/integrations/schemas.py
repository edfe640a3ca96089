"""Request bodies of the integrations API. Unknown fields are refused (a typo is an error)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from minxin.core.vocabulary import AppealType, Urgency
from minxin.workorders.schemas import CitizenIn

SYSTEM_PATTERN = r"^[A-Za-z0-9_.\-]{1,40}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    unit: str = Field(min_length=1, max_length=64, description="unit code: the key's scope and the centre of its orders")
    role: str = Field(default="agent", description="agent | dispatcher | handler | supervisor | leader")
    scopes: list[str] = Field(default_factory=lambda: ["open311"], description="open311, orders, transfers, *")
    system: str | None = Field(default=None, pattern=SYSTEM_PATTERN, description="the external system, e.g. 95598")
    rate_per_minute: int = Field(default=120, ge=1, le=100_000)
    burst: int = Field(default=60, ge=1, le=100_000)
    open311_deferred: bool = False


class KeyUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    unit: str | None = None
    role: str | None = None
    scopes: list[str] | None = None
    system: str | None = Field(default=None, pattern=SYSTEM_PATTERN)
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    burst: int | None = Field(default=None, ge=1, le=100_000)
    open311_deferred: bool | None = None


class KeyRotate(Strict):
    grace_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60, description="the old secret keeps working this long")


class WebhookCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=8, max_length=1000)
    event_types: list[str] = Field(default_factory=lambda: ["*"])
    unit: str | None = Field(default=None, description="only orders that have been with this unit subtree")
    api_key_id: int | None = Field(default=None, description="only orders this integration created or transferred")
    secret: str | None = Field(default=None, min_length=16, max_length=100)


class WebhookUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, min_length=8, max_length=1000)
    event_types: list[str] | None = None
    active: bool | None = None
    rotate_secret: bool = False


class ReplayIn(Strict):
    subscription_id: int | None = None


class TransferOrderIn(Strict):
    """The order as the sending hotline describes it (our channel is always ``transfer``)."""

    appeal_type: AppealType
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=20000)
    citizen: CitizenIn | None = None
    address: str | None = Field(default=None, max_length=500)
    category: str | None = Field(default=None, max_length=64)
    urgency: Urgency = Urgency.NORMAL
    confidential: bool = False
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class TransferIn(Strict):
    sender: str = Field(pattern=SYSTEM_PATTERN, description="the sending system, e.g. 95598 or 110")
    sender_id: str = Field(min_length=1, max_length=100, description="the sender's own id of the order")
    order: TransferOrderIn
    sender_unit: str | None = Field(default=None, max_length=200, description="who at the sender handled it")
    note: str | None = Field(default=None, max_length=2000)
    sent_at: datetime | None = None


class TransferUpdateIn(Strict):
    text: str = Field(min_length=1, max_length=5000)
    status: str | None = Field(default=None, max_length=40, description="the other side's status, recorded as is")


class OutboundTransferIn(Strict):
    target: str = Field(pattern=SYSTEM_PATTERN, description="the receiving system, e.g. 95598")
    note: str | None = Field(default=None, max_length=2000)


class AcknowledgeIn(Strict):
    external_id: str = Field(min_length=1, max_length=100)


class HandoffIn(Strict):
    target: str = Field(description="110, 119 or 120")
    note: str | None = Field(default=None, max_length=2000)
    at: datetime | None = Field(default=None, description="when the call was handed off (default: now)")

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: object) -> str:
        text = str(value).strip()
        if text not in ("110", "119", "120"):
            raise ValueError("target must be 110, 119 or 120")
        return text

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("at needs a UTC offset")
        return value
