"""Request bodies of the SLA admin API (shape only; meaning is checked by the services)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class DayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    kind: str = Field(description="holiday, or workday (a workday on a weekend is a 调休 make-up day)")
    name: str = Field(default="", max_length=100)


class YearDaysIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: list[DayIn] = Field(max_length=400, description="the year's holidays and make-up working days")


class PolicyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=64, description="category code (its subtree)")
    appeal_type: str | None = Field(default=None, max_length=20)
    urgency: str | None = Field(default=None, max_length=20)
    dispatch: str | None = Field(default=None, max_length=20, description="e.g. 30m")
    sign: str | None = Field(default=None, max_length=20, description="e.g. 2wh")
    handle: str | None = Field(default=None, max_length=20, description="e.g. 1wd, 5wd, 120m")
    callback: str | None = Field(default=None, max_length=20, description="e.g. 1wd")
    counting_rule: str | None = Field(default=None, max_length=20, description="next_day | inclusive")
    warn_ratio: float | None = Field(default=None, description="0 < r <= 1, e.g. 0.75")
    active: bool | None = None


class PolicyCreate(PolicyFields):
    id: str = Field(min_length=1, max_length=64)


class PolicyUpdate(PolicyFields):
    pass
