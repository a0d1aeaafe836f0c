"""Settings from the environment or a `.env` file (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.db.engine import Pools


class Settings(BaseSettings):
    """Every knob the service reads at start-up; defaults give a working local service."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    mode: Literal["local", "production"] = "local"
    database_url: str = "sqlite+aiosqlite:///./rewards.db"
    database_reader_pool_size: int = Field(
        Pools.readers, gt=0, description="connections per process for reads (queries, payloads)"
    )
    database_writer_pool_size: int = Field(
        Pools.writers, gt=0, description="connections per process for units of work (mutations)"
    )
    database_pool_timeout_seconds: float = Field(
        Pools.timeout,
        gt=0,
        allow_inf_nan=False,
        description="seconds a read or a unit of work may wait for a free connection",
    )
    max_concurrent_operations: int = Field(
        20, gt=0, description="GraphQL operations executing at once per process; others queue"
    )
    firebase_project_id: str = "demo-rewards"
    firebase_auth_emulator_host: str | None = None
    firebase_credentials_file: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    jobs_enabled: bool = True
    jobs_interval_seconds: float = 60.0
    seed_demo: bool = False
    rules_cache_seconds: float = 5.0
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000

    @property
    def is_local(self) -> bool:
        """Local mode: dev tokens, GraphiQL, field suggestions."""
        return self.mode == "local"

    @property
    def pools(self) -> Pools:
        """The database pool sizes and checkout timeout."""
        return Pools(
            readers=self.database_reader_pool_size,
            writers=self.database_writer_pool_size,
            timeout=self.database_pool_timeout_seconds,
        )


@lru_cache
def get_settings() -> Settings:
    """Return the process settings, read once."""
    return Settings()
