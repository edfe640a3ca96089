"""What every request needs, built once per application: settings, database, clock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from minxin.accounts.principal import Principal
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
    #: (user id, token version) → (principal, expiry): saves a user lookup per request; a
    #: deactivation or role change in this process is seen at once (``forget_principal``), in
    #: other processes within ``PRINCIPAL_TTL`` seconds
    _principals: dict[tuple[int, int], tuple[Principal, float]] = field(default_factory=dict, repr=False)
    _principals_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    PRINCIPAL_TTL = 5.0

    def cached_principal(self, user_id: int, version: int) -> Principal | None:
        entry = self._principals.get((user_id, version))
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def remember_principal(self, version: int, principal: Principal) -> None:
        assert principal.user_id is not None
        with self._principals_lock:
            if len(self._principals) > 10_000:
                self._principals.clear()
            self._principals[(principal.user_id, version)] = (principal, time.monotonic() + self.PRINCIPAL_TTL)

    def forget_principal(self, user_id: int) -> None:
        with self._principals_lock:
            for key in [k for k in self._principals if k[0] == user_id]:
                del self._principals[key]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.display_timezone)

    @property
    def order_settings(self) -> OrderSettings:
        return OrderSettings(timezone=self.tz, callback_max_attempts=self.settings.callback_max_attempts)
