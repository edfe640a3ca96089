"""Request shapes for work orders. Unknown fields are refused, so a typo is an error, not a loss."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from minxin.core.vocabulary import Action, AppealType, Channel, Satisfaction, Urgency

PHONE_CHARS = re.compile(r"^[0-9+\-() ]{3,40}$")
DURATION_PATTERN = re.compile(r"^\s*\d+\s*(m|h|d|wh|wd)\s*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CitizenIn(Strict):
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not PHONE_CHARS.match(value):
            raise ValueError("电话号码只能包含数字、空格和 + - ( ) / phone may contain digits, spaces and + - ( )")
        return value


class OrderCreate(Strict):
    channel: Channel
    appeal_type: AppealType
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=20000)
    citizen: CitizenIn | None = None
    address: str | None = Field(default=None, max_length=500)
    category: str | None = Field(default=None, max_length=64, description="category code")
    urgency: Urgency = Urgency.NORMAL
    confidential: bool = Field(default=False, description="the caller asked for confidentiality (保密)")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    extra: dict[str, Any] | None = None


class ActionBase(Strict):
    expected_version: int | None = Field(default=None, description="refuse with 409 if the order changed since")


class AnswerIn(ActionBase):
    answer: str = Field(min_length=1, max_length=5000)


class DispatchIn(ActionBase):
    unit: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=2000)


class NoteOptional(ActionBase):
    note: str | None = Field(default=None, max_length=2000)


class ReasonIn(ActionBase):
    reason: str = Field(min_length=1, max_length=2000)


class ReviewReturnIn(ActionBase):
    approve: bool
    note: str | None = Field(default=None, max_length=2000)


class ReplyIn(ActionBase):
    result: str = Field(min_length=1, max_length=10000)
    attachments: list[str] = Field(default_factory=list, max_length=20)


class CallbackIn(ActionBase):
    reachable: bool = True
    satisfaction: Satisfaction | None = None
    resolved: bool | None = None
    recording: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _reached_needs_answers(self) -> CallbackIn:
        if self.reachable and (self.satisfaction is None or self.resolved is None):
            raise ValueError(
                "接通的回访必须填写满意度和是否解决 / a reached callback needs satisfaction and resolved"
            )
        return self


class CloseIn(ActionBase):
    note: str | None = Field(default=None, max_length=2000)
    unreasonable: bool = Field(default=False, description="诉求不合理或无法律依据: excluded from the unit's satisfaction")
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _reason_for_exclusion(self) -> CloseIn:
        if self.unreasonable and not self.reason:
            raise ValueError("标记为不合理诉求时必须说明理由 / marking an appeal unreasonable needs a reason")
        return self


class ExtensionRequestIn(ActionBase):
    duration: str = Field(description="extra time, e.g. 3wd (working days), 8wh, 2d")
    reason: str = Field(min_length=1, max_length=2000)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not DURATION_PATTERN.match(value):
            raise ValueError("延期时长格式如 3wd、8wh、2d / duration like 3wd, 8wh, 2d")
        return value.replace(" ", "")


class DecideExtensionIn(ActionBase):
    approve: bool
    note: str | None = Field(default=None, max_length=2000)


class UrgeIn(ActionBase):
    note: str = Field(min_length=1, max_length=2000)


class MergeIn(ActionBase):
    into: str = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class CoHandleIn(ActionBase):
    units: list[str] = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class ClassifyIn(ActionBase):
    category: str | None = Field(default=None, max_length=64, description="new category code")
    urgency: Urgency | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> ClassifyIn:
        if self.category is None and self.urgency is None:
            raise ValueError("请给出新的类别或紧急程度 / give a new category or urgency")
        return self


class NoteIn(ActionBase):
    text: str = Field(min_length=1, max_length=5000)


PAYLOADS: dict[Action, type[ActionBase]] = {
    Action.ANSWER: AnswerIn,
    Action.DISPATCH: DispatchIn,
    Action.SIGN: NoteOptional,
    Action.RETURN: ReasonIn,
    Action.REVIEW_RETURN: ReviewReturnIn,
    Action.REPLY: ReplyIn,
    Action.CALLBACK: CallbackIn,
    Action.CLOSE: CloseIn,
    Action.REOPEN: ReasonIn,
    Action.REQUEST_EXTENSION: ExtensionRequestIn,
    Action.DECIDE_EXTENSION: DecideExtensionIn,
    Action.SUSPEND: ReasonIn,
    Action.RESUME: NoteOptional,
    Action.URGE: UrgeIn,
    Action.MERGE: MergeIn,
    Action.VOID: ReasonIn,
    Action.CO_HANDLE: CoHandleIn,
    Action.NOTE: NoteIn,
    Action.CLASSIFY: ClassifyIn,
}
