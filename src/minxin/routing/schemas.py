"""Request bodies of the routing API. Field names follow the rule's columns; ``category`` /
``region`` / ``unit`` are accepted as shorter aliases."""

from __future__ import annotations

from datetime import date

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_code: str = Field(
        default="", max_length=64, validation_alias=AliasChoices("category_code", "category"),
        description="category code; a level-1/2 code covers its subtree; empty = any category",
    )
    region_code: str = Field(
        default="", max_length=12, validation_alias=AliasChoices("region_code", "region"),
        description="NBS region code prefix (21, 2101, 210115, 210115101); empty = anywhere",
    )
    unit_code: str = Field(min_length=1, max_length=64, validation_alias=AliasChoices("unit_code", "unit"))
    priority: int = Field(default=0, ge=-1000, le=1000, description="higher wins between equally specific rules")
    valid_from: date | None = None
    valid_to: date | None = None
    note: str = Field(default="", max_length=500, description="why the rule exists (duty list, agreement)")
    why: str = Field(default="", max_length=500, description="why this change is made (kept in the history)")


class RuleUpdate(BaseModel):
    """Only the fields present change; ``why`` goes into the history."""

    model_config = ConfigDict(extra="forbid")

    category_code: str | None = Field(
        default=None, max_length=64, validation_alias=AliasChoices("category_code", "category")
    )
    region_code: str | None = Field(default=None, max_length=12, validation_alias=AliasChoices("region_code", "region"))
    unit_code: str | None = Field(
        default=None, min_length=1, max_length=64, validation_alias=AliasChoices("unit_code", "unit")
    )
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    valid_from: date | None = None
    valid_to: date | None = None
    active: bool | None = None
    note: str | None = Field(default=None, max_length=500)
    why: str = Field(default="", max_length=500)
