"""Settings from the environment or a `.env` file (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.db.engine import Pools


class Settings(BaseSettings):
    """Every knob the service reads at start-up; defaults give a working local service."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    mode: Literal["local", "production"] = "local"
    database_url: str = "sqlite+aiosqlite:///./rewards.db"
    database_reader_pool_size: int = Pools.readers
    database_writer_pool_size: int = Pools.writers
    database_pool_timeout_seconds: float = Pools.timeout
    max_concurrent_operations: int = 20
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
