"""Settings from the environment or a `.env` file (pydantic-settings), checked before anything starts."""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from limits import parse_many
from pydantic import AfterValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.db.engine import Pools

# Reusable constraints for new settings: sizes, counts and limits are whole numbers above 0;
# intervals are finite seconds above 0; cache lifetimes may be 0 (no caching).
PositiveInt = Annotated[int, Field(gt=0)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
CacheSeconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]

PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")  # Google Cloud project id rules
DATABASE_HINT = "use sqlite:///path/to/file.db or postgresql://user:password@host:5432/database"


class ConfigError(Exception):
    """Settings that cannot work; one line per problem, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def normalise_database_url(url: str) -> str:
    """Accept SQLite and PostgreSQL URLs in their common forms; return them with the async driver."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ValueError(f"not a database URL; {DATABASE_HINT}") from None
    except ValueError:  # make_url parses the port as a number
        raise ValueError(f"the port is not a number; {DATABASE_HINT}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite", "pysqlite"):
        _check_sqlite_file(parsed.database)
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        parsed = parsed.set(drivername="postgresql+asyncpg", query=_asyncpg_options(parsed.query))
    else:
        raise ValueError(f"{parsed.drivername!r} databases are not supported; {DATABASE_HINT}")
    return parsed.render_as_string(hide_password=False)


def _check_sqlite_file(database: str | None) -> None:
    """SQLite needs a file in an existing directory: readers and writers share it."""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError("SQLite needs a file path, e.g. sqlite:///./rewards.db")
    folder = Path(database).expanduser().parent
    if not folder.is_dir():
        raise ValueError(f"the folder {str(folder)!r} of the SQLite file does not exist")


def _asyncpg_options(query: Any) -> dict[str, Any]:
    """URL options asyncpg understands; libpq's `sslmode` becomes asyncpg's `ssl`."""
    import inspect

    import asyncpg

    options = dict(query)
    if "sslmode" in options:
        options.setdefault("ssl", options.pop("sslmode"))
    known = set(inspect.signature(asyncpg.connect).parameters) - {
        "dsn", "host", "port", "user", "password", "database", "loop", "connection_class",
        "record_class", "server_settings",
    } | {"prepared_statement_cache_size"}  # fmt: skip
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"unknown PostgreSQL option {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    return options


def _host_and_port(value: str | None) -> str | None:
    """An emulator address: `host:port`."""
    if value is None:
        return None
    host, _, port = value.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port, e.g. 127.0.0.1:9099")
    return value.strip()


def _rate(value: str) -> str:
    """Accept a rate in the `limits` notation, e.g. `10/minute` or `5/second;100/hour`."""
    if any(rate.amount < 1 for rate in parse_many(value)):
        raise ValueError(f"rate limit {value!r} allows nothing")
    return value


def _redis_url(value: str | None) -> str | None:
    """Accept `redis://` or `rediss://` URLs; empty means no Redis."""
    if value and not value.startswith(("redis://", "rediss://")):
        raise ValueError("must start with redis:// or rediss://")
    return value or None


Rate = Annotated[str, AfterValidator(_rate)]


class Settings(BaseSettings):
    """Every knob the service reads at start-up; defaults give a working local service."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    mode: Literal["local", "production"] = Field(
        "local", description="`local` (dev tokens, GraphiQL, field suggestions) or `production`"
    )
    database_url: Annotated[str, AfterValidator(normalise_database_url)] = Field(
        "sqlite+aiosqlite:///./rewards.db",
        description="sqlite:///file.db or postgresql://user:password@host/db (drivers are added)",
    )
    database_reader_pool_size: PositiveInt = Field(
        Pools.readers, description="connections per process for reads (queries, payloads)"
    )
    database_writer_pool_size: PositiveInt = Field(
        Pools.writers,
        description="connections per process for units of work (mutations); SQLite uses one",
    )
    database_pool_timeout_seconds: Seconds = Field(
        Pools.timeout, description="seconds a read or a unit of work may wait for a free connection"
    )
    max_concurrent_operations: PositiveInt = Field(
        20, description="GraphQL operations executing at once per process; others queue"
    )
    firebase_project_id: str = Field(
        "demo-rewards",
        pattern=PROJECT_ID.pattern,
        description="the Firebase project whose ID tokens are accepted",
    )
    firebase_auth_emulator_host: Annotated[str | None, AfterValidator(_host_and_port)] = Field(
        None, description="local mode: an Auth emulator (host:port) to ask about revoked users"
    )
    firebase_credentials_file: str | None = Field(
        None, description="a service-account key (JSON) for the Firebase Admin API"
    )
    host: str = Field("127.0.0.1", min_length=1, description="address `rewards serve` listens on")
    port: int = Field(8000, gt=0, lt=65536, description="port `rewards serve` listens on")
    workers: PositiveInt | None = Field(
        None,
        description="server processes `rewards serve` runs (unset: one per CPU in production "
        "mode, 1 in local mode)",
    )
    jobs_enabled: bool = Field(
        True,
        description="run the settle job (and, with AUTOMATIONS_IN_PROCESS, the automations) "
        "inside the server",
    )
    jobs_interval_seconds: Seconds = Field(60.0, description="seconds between settle job runs")
    automations_in_process: bool = Field(
        True,
        description="run the automations (birthdays, expiry warnings, tier nudges, club renewal "
        "reminders) inside the server (off: run `rewards automations-worker`)",
    )
    automations_interval_seconds: Seconds = Field(
        300.0, description="seconds between automation runs (in the server or the worker)"
    )
    seed_demo: bool = Field(False, description="seed the demo members on start")
    rules_cache_seconds: CacheSeconds = Field(
        5.0, description="seconds a process reuses the program rules it read"
    )
    revocation_check_seconds: CacheSeconds = Field(
        30.0,
        le=3600,
        description="seconds a staff read may rely on the last revocation check of its token "
        "(0: ask Firebase every time); changes to balances always ask",
    )
    max_query_depth: PositiveInt = Field(12, description="deepest query nesting accepted")
    max_aliases: PositiveInt = Field(30, description="most aliases in one document")
    max_tokens: PositiveInt = Field(2000, description="most tokens in one document")
    redis_url: Annotated[str | None, AfterValidator(_redis_url)] = Field(
        None,
        description="redis://host:6379/0 shared by all workers for rate limits and live-update "
        "fan-out (unset: in process)",
    )
    referral_link_base: str = Field(
        "https://rewards.example.com/join?code=",
        min_length=1,
        description="a member's share link is this followed by their referral code",
    )
    redis_key_prefix: str = Field(
        "rewards", min_length=1, description="prefix of every key this service writes to Redis"
    )
    rate_limit_auth_failures: Rate = Field(
        "20/minute", description="refused tokens per client address before it gets 429"
    )
    rate_limit_enroll: Rate = Field("10/hour", description="`enroll` calls per signed-in user")
    rate_limit_redeem: Rate = Field(
        "30/minute", description="`redeemOffer` calls per member (replays count too)"
    )
    rate_limit_claim_action: Rate = Field(
        "60/minute;2000/day", description="`claimAction` calls per member (replays count too)"
    )
    rate_limit_enter_draw: Rate = Field(
        "30/minute", description="`enterDraw` calls per member (replays count too)"
    )
    rate_limit_staff: Rate = Field("120/minute", description="staff field calls per staff user")
    rate_limit_integration: Rate = Field(
        "1200/minute", description="integration field calls per integration principal"
    )
    rate_limit_register_device: Rate = Field(
        "30/hour", description="`registerDevice` and `unregisterDevice` calls per member"
    )
    rate_limit_mascot_hunt: Rate = Field(
        "20/hour", description="`startMascotHunt` calls per member (replays count too)"
    )
    rate_limit_spin_wheel: Rate = Field(
        "30/minute;500/day", description="`spinWheel` calls per member (replays count too)"
    )
    rate_limit_websocket_connect: Rate = Field(
        "120/minute",
        description="WebSocket connection attempts per client address (then closed 4429 RATE_LIMITED)",
    )
    rate_limit_subscribe: Rate = Field(
        "30/minute", description="`memberEvents` subscribe messages per member"
    )
    push_sender_in_process: bool = Field(
        True,
        description="send queued pushes from inside the server (off: run `rewards push-worker`)",
    )
    push_backend: Literal["auto", "log", "fcm"] = Field(
        "auto",
        description="where pushes go: `fcm` (firebase-admin), `log` (one log line each) or `auto` "
        "(FCM with FIREBASE_CREDENTIALS_FILE or in production mode, else the log)",
    )
    push_batch_size: int = Field(
        500, gt=0, le=500, description="pushes claimed per round and sent per FCM `send_each` call"
    )
    push_poll_seconds: Seconds = Field(
        1.0, description="seconds a sender waits when nothing is due before it looks again"
    )
    push_lease_seconds: Seconds = Field(
        120.0,
        description="seconds a sender holds the pushes it claimed; a sender that dies leaves "
        "them to others after this",
    )
    push_max_attempts: PositiveInt = Field(
        8, description="tries of a push before it is recorded as FAILED with its last error"
    )
    push_retry_base_seconds: Seconds = Field(
        5.0, description="first wait after a transient FCM error; doubles per try, with jitter"
    )
    push_retry_max_seconds: Seconds = Field(
        3600.0, description="longest wait between tries (a longer Retry-After from FCM wins)"
    )
    campaigns_in_process: bool = Field(
        True,
        description="send due surprise campaigns from inside the server (off: run "
        "`rewards campaign-worker`)",
    )
    campaign_batch_size: int = Field(
        200,
        gt=0,
        le=5000,
        description="members a campaign worker rewards and notifies per transaction",
    )
    campaign_poll_seconds: Seconds = Field(
        5.0, description="seconds a campaign worker waits when no campaign is due"
    )
    max_body_bytes: PositiveInt = Field(
        64 * 1024, description="largest request body in bytes; larger ones get 413"
    )
    max_query_length: PositiveInt = Field(
        20_000, description="longest query text in characters, checked before parsing"
    )
    max_json_depth: PositiveInt = Field(
        32, description="deepest JSON nesting of a request body, checked before decoding"
    )
    document_cache_bytes: PositiveInt = Field(
        32 * 1024 * 1024, description="memory budget of the parsed-and-validated document cache"
    )
    request_body_timeout_seconds: Seconds = Field(
        10.0, description="seconds a request body may take to arrive (then 408)"
    )
    request_header_timeout_seconds: Seconds = Field(
        10.0,
        description="`rewards serve`: seconds a request head may take before the connection closes",
    )
    websocket_init_timeout_seconds: Seconds = Field(
        10.0,
        description="seconds a WebSocket client may take to send `connection_init` (then 4408)",
    )
    websocket_max_subscriptions: PositiveInt = Field(
        10, description="subscriptions one WebSocket connection may hold open at once"
    )
    websocket_max_connections_per_member: PositiveInt = Field(
        5,
        description="WebSocket connections one member may hold open at once, on every worker "
        "together when REDIS_URL is set (one more is closed 4429 TOO_MANY_CONNECTIONS)",
    )
    websocket_max_connections_per_address: PositiveInt = Field(
        500,
        description="WebSocket connections open at once from one client address (an IPv6 one "
        "per /64), signed in or not (one more is closed 4429 TOO_MANY_ADDRESS_CONNECTIONS)",
    )
    access_log: bool = Field(
        False,
        description="`rewards serve`: log one line per HTTP request and uvicorn's per-WebSocket lines "
        "(off: those are DEBUG; refusals and faults are "
        "logged with their request id either way)",
    )

    @field_validator(
        "firebase_credentials_file", "firebase_auth_emulator_host", "redis_url", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """`VAR=` in a .env file means unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def is_local(self) -> bool:
        """Local mode: dev tokens, GraphiQL, field suggestions."""
        return self.mode == "local"

    @property
    def uses_fcm(self) -> bool:
        """Whether pushes go to FCM (else to the log)."""
        if self.push_backend != "auto":
            return self.push_backend == "fcm"
        return bool(self.firebase_credentials_file) or not self.is_local

    @property
    def pools(self) -> Pools:
        """The database pool sizes and checkout timeout."""
        return Pools(
            readers=self.database_reader_pool_size,
            writers=self.database_writer_pool_size,
            timeout=self.database_pool_timeout_seconds,
        )


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    return field.upper()


def _format(error: dict[str, Any]) -> str:
    """One pydantic error as `VARIABLE: what is wrong`."""
    name = env_name(str(error["loc"][0])) if error["loc"] else "settings"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "must be", 1)
    if error["type"] == "string_pattern_mismatch" and name == "FIREBASE_PROJECT_ID":
        message = "must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)"
    return f"{name}: {message}"


def credential_problems(settings: Settings) -> list[str]:
    """Problems with the service-account key file or, in production, with how Firebase is set up."""
    problems = []
    if settings.firebase_credentials_file:
        problem = _key_file_problem(
            settings.firebase_credentials_file, settings.firebase_project_id
        )
        if problem:
            problems.append(f"FIREBASE_CREDENTIALS_FILE: {problem}")
    if settings.is_local:
        return problems
    if settings.firebase_project_id.startswith("demo-"):
        problems.append(
            "FIREBASE_PROJECT_ID: demo- projects exist only in the emulator; set your real "
            "project id in production mode"
        )
    if settings.firebase_auth_emulator_host:
        problems.append(
            "FIREBASE_AUTH_EMULATOR_HOST: must be unset in production mode (emulator tokens are unsigned)"
        )
    adc = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not settings.firebase_credentials_file and adc and not os.access(adc, os.R_OK):
        problems.append(f"GOOGLE_APPLICATION_CREDENTIALS: cannot read {adc!r}")
    return problems


def _key_file_problem(path: str, project_id: str) -> str | None:
    """Why a service-account key file is unusable, or None if it looks right."""
    try:
        key = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no such file {path!r}"
    except OSError as error:
        return f"cannot read {path!r} ({error.strerror or error})"
    except ValueError:
        return f"{path!r} is not JSON; download a service-account key from the Firebase console"
    if not isinstance(key, dict) or key.get("type") != "service_account":
        return f"{path!r} is not a service-account key (its type must be service_account)"
    missing = [k for k in ("client_email", "private_key") if not key.get(k)]
    if missing:
        return f"{path!r} has no {missing[0]}"
    if key.get("project_id") and key["project_id"] != project_id:
        return f"the key belongs to project {key['project_id']!r}, not FIREBASE_PROJECT_ID {project_id!r}"
    return None


def load_settings(**overrides: Any) -> Settings:
    """Read and check the settings; raise ConfigError with every problem, one line each."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise ConfigError([_format(e) for e in error.errors()]) from None  # type: ignore[arg-type]
    problems = credential_problems(settings)
    if problems:
        raise ConfigError(problems)
    return settings


@lru_cache
def get_settings() -> Settings:
    """Return the process settings, read and checked once."""
    return load_settings()
