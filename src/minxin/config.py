"""Settings, read once from the environment (prefix ``MINXIN_``) and the command line.

Invariant: nothing else in the code base reads ``os.environ`` for product settings; tests
build a ``Settings`` object and pass it in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """The embedded default: a SQLite file in the working directory."""
    return f"sqlite:///{Path('minxin.db').resolve()}"


class Settings(BaseSettings):
    """Product settings. Every field can be set as ``MINXIN_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="MINXIN_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    data_dir: Path = Field(default=Path("var"), description="attachments, models and exports live here")
    secret_key: str | None = Field(
        default=None,
        description="signs access tokens; when unset a random key is generated once and kept in the database",
    )
    display_timezone: str = "Asia/Shanghai"
    token_ttl_minutes: int = 12 * 60
    max_upload_bytes: int = 20 * 1024 * 1024
    callback_max_attempts: int = Field(default=3, description="unreachable callbacks before the order closes")
    auto_migrate: bool = True
    worker_enabled: bool = Field(default=True, description="run background jobs inside `minxin serve`")
    worker_interval_seconds: float = 30.0

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
