"""Settings from the environment or a `.env` file (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import PositiveFloat, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob the service reads at start-up; defaults give a working local service."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    mode: Literal["local", "production"] = "local"
    database_url: str = "sqlite+aiosqlite:///./rewards.db"
    database_pool_size: int = 20
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
    max_body_bytes: PositiveInt = 64 * 1024
    max_query_length: PositiveInt = 20_000
    max_json_depth: PositiveInt = 32
    document_cache_bytes: PositiveInt = 32 * 1024 * 1024
    request_body_timeout_seconds: PositiveFloat = 10.0
    request_header_timeout_seconds: PositiveFloat = 10.0

    @property
    def is_local(self) -> bool:
        """Local mode: dev tokens, GraphiQL, field suggestions."""
        return self.mode == "local"


@lru_cache
def get_settings() -> Settings:
    """Return the process settings, read once."""
    return Settings()
