"""Who is acting: a user (or an integration key) with a role and a unit subtree.

Invariant: every permission decision uses ``Principal``; nothing downstream looks at the
raw user row. ``unit_path`` is the prefix of every unit this principal may see.
"""

from __future__ import annotations

from dataclasses import dataclass

from minxin.core.vocabulary import Role


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    display_name: str
    role: Role
    unit_id: int
    unit_code: str
    unit_path: str
    #: set for machine callers (API keys); None for people
    api_key_id: int | None = None

    @property
    def sees_everything(self) -> bool:
        """Admins, and anyone bound to a root unit, see the whole tree."""
        return self.role is Role.ADMIN or self.unit_path.count("/") <= 2

    def covers(self, unit_path: str) -> bool:
        """Whether ``unit_path`` lies in this principal's subtree."""
        return self.sees_everything or unit_path.startswith(self.unit_path)

    @property
    def may_see_phone(self) -> bool:
        """Leaders read dashboards, not phone numbers; everyone else on the loop needs them."""
        return self.role is not Role.LEADER
