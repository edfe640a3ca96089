"""What every request needs, built once per application: settings, database, clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from minxin.config import Settings
from minxin.core.clock import Clock, SystemClock
from minxin.db.session import Database
from minxin.workorders.service import Settings as OrderSettings


@dataclass
class AppState:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    secret_key: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.display_timezone)

    @property
    def order_settings(self) -> OrderSettings:
        return OrderSettings(timezone=self.tz, callback_max_attempts=self.settings.callback_max_attempts)
