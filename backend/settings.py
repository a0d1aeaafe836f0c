"""Settings from the environment or a `.env` file (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from limits import parse_many
from pydantic import AfterValidator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _rate(value: str) -> str:
    """Accept a rate in the `limits` notation, e.g. `10/minute` or `5/second;100/hour`."""
    if any(rate.amount < 1 for rate in parse_many(value)):
        raise ValueError(f"rate limit {value!r} allows nothing")
    return value


def _redis_url(value: str | None) -> str | None:
    """Accept `redis://` or `rediss://` URLs; empty means no Redis."""
    if value and not value.startswith(("redis://", "rediss://")):
        raise ValueError("REDIS_URL must start with redis:// or rediss://")
    return value or None


Rate = Annotated[str, AfterValidator(_rate)]


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
    redis_url: Annotated[str | None, AfterValidator(_redis_url)] = None
    redis_key_prefix: str = "rewards"
    rate_limit_auth_failures: Rate = "20/minute"
    rate_limit_enroll: Rate = "10/hour"
    rate_limit_staff: Rate = "120/minute"
    rate_limit_integration: Rate = "1200/minute"

    @property
    def is_local(self) -> bool:
        """Local mode: dev tokens, GraphiQL, field suggestions."""
        return self.mode == "local"


@lru_cache
def get_settings() -> Settings:
    """Return the process settings, read once."""
    return Settings()
