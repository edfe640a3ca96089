"""Running Alembic migrations programmatically (the package carries its own scripts).

``upgrade(url)`` is what ``minxin init`` and ``minxin serve`` call on start: a new SQLite file
is created and brought to the latest schema; an existing database is upgraded in place.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from minxin.db.session import normalise_url


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "minxin:migrations")
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the schema up to date. Domains add migrations as branches off the core
    revision, so "heads" (all branches) is the target."""
    command.upgrade(alembic_config(url), revision)


def current_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite:///unused.db")).get_current_head()
