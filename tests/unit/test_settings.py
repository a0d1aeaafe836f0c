"""Settings are checked at start: URLs normalised, nonsense refused with one line per problem."""

from __future__ import annotations

import json

import pytest

from backend.settings import (
    ConfigError,
    Settings,
    credential_problems,
    load_settings,
    normalise_database_url,
)

SETTINGS_VARS = [name.upper() for name in Settings.model_fields] + [
    "GOOGLE_APPLICATION_CREDENTIALS"
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No settings from the test process's environment or a .env file."""
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def problems(**env: str) -> list[str]:
    """The problems load_settings reports for these environment variables."""
    mp = pytest.MonkeyPatch()
    try:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises(ConfigError) as caught:
            load_settings()
        return caught.value.problems
    finally:
        mp.undo()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://app:s3cret@db.internal:5432/rewards", "postgresql+asyncpg://app:s3cret@db.internal:5432/rewards"),
        ("postgres://app@db/rewards", "postgresql+asyncpg://app@db/rewards"),
        ("postgresql+asyncpg://app@db/rewards", "postgresql+asyncpg://app@db/rewards"),
        ("postgresql:///rewards", "postgresql+asyncpg:///rewards"),
        ("postgresql://app:p%40ss@db/rewards", "postgresql+asyncpg://app:p%40ss@db/rewards"),
        ("postgresql://app@db/rewards?sslmode=require", "postgresql+asyncpg://app@db/rewards?ssl=require"),
        ("sqlite:///./rewards.db", "sqlite+aiosqlite:///./rewards.db"),
        ("sqlite+aiosqlite:///rewards.db", "sqlite+aiosqlite:///rewards.db"),
        ("  sqlite:///rewards.db\n", "sqlite+aiosqlite:///rewards.db"),
    ],
)  # fmt: skip
def test_database_urls_in_their_common_forms_get_the_async_driver(given, expected):
    assert normalise_database_url(given) == expected
    assert load_settings(database_url=given).database_url == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "not a database URL"),
        ("rewards.db", "not a database URL"),
        ("http://example.com", "'http' databases are not supported"),
        ("mysql://app@db/rewards", "'mysql' databases are not supported"),
        ("postgresql+psycopg://app@db/rewards", "'postgresql+psycopg' databases are not supported"),
        ("postgresql://app@db:port/rewards", "the port is not a number"),
        ("postgresql://app@db/rewards?application_nam=x", "unknown PostgreSQL option 'application_nam'"),
        ("sqlite://", "SQLite needs a file path"),
        ("sqlite:///:memory:", "SQLite needs a file path"),
        ("sqlite:////no/such/folder/rewards.db", "the folder '/no/such/folder' of the SQLite file does not exist"),
    ],
)  # fmt: skip
def test_unknown_schemes_and_malformed_urls_are_refused(given, problem):
    (line,) = problems(DATABASE_URL=given)
    assert line.startswith(f"DATABASE_URL: {problem}"), line
    assert "\n" not in line


def test_every_bad_value_is_one_line_naming_its_variable():
    assert problems(
        JOBS_INTERVAL_SECONDS="-5",
        DATABASE_READER_POOL_SIZE="0",
        PORT="70000",
        MODE="prod",
        MAX_TOKENS="lots",
        RULES_CACHE_SECONDS="nan",
        REVOCATION_CHECK_SECONDS="-1",
        FIREBASE_PROJECT_ID="My Project",
        FIREBASE_AUTH_EMULATOR_HOST="localhost",
    ) == [
        "MODE: must be 'local' or 'production'",
        "DATABASE_READER_POOL_SIZE: must be greater than 0",
        "FIREBASE_PROJECT_ID: must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)",
        "FIREBASE_AUTH_EMULATOR_HOST: must be host:port, e.g. 127.0.0.1:9099",
        "PORT: must be less than 65536",
        "JOBS_INTERVAL_SECONDS: must be greater than 0",
        "RULES_CACHE_SECONDS: must be a finite number",
        "REVOCATION_CHECK_SECONDS: must be greater than or equal to 0",
        "MAX_TOKENS: must be a valid integer, unable to parse string as an integer",
    ]


@pytest.mark.parametrize("value", ["0", "-1", "inf", "-inf", "nan", "1e999", "soon"])
def test_intervals_must_be_finite_and_positive(value):
    (line,) = problems(JOBS_INTERVAL_SECONDS=value)
    assert line.startswith("JOBS_INTERVAL_SECONDS: must be")


def test_defaults_make_a_working_local_service():
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./rewards.db"
    assert settings.is_local and settings.revocation_check_seconds == 30


def test_a_blank_optional_setting_means_unset(monkeypatch):
    monkeypatch.setenv("FIREBASE_CREDENTIALS_FILE", " ")
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "")
    settings = load_settings()
    assert settings.firebase_credentials_file is None
    assert settings.firebase_auth_emulator_host is None


def service_account(tmp_path, **fields):
    """Write a service-account key file and return its path."""
    key = {
        "type": "service_account",
        "project_id": "rewards-prod",
        "client_email": "api@rewards-prod.iam.gserviceaccount.com",
        "private_key": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n",
        **fields,
    }
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key))
    return str(path)


PRODUCTION = {"MODE": "production", "FIREBASE_PROJECT_ID": "rewards-prod"}


def test_production_refuses_unusable_credentials(tmp_path):
    (tmp_path / "notjson.json").write_text("{oops")
    (tmp_path / "user.json").write_text('{"type": "authorized_user"}')
    cases = {
        str(tmp_path / "missing.json"): "no such file",
        str(tmp_path): "cannot read",
        str(tmp_path / "notjson.json"): "is not JSON",
        str(tmp_path / "user.json"): "is not a service-account key",
    }
    for path, problem in cases.items():
        (line,) = problems(**PRODUCTION, FIREBASE_CREDENTIALS_FILE=path)
        assert line.startswith("FIREBASE_CREDENTIALS_FILE: ") and problem in line, line
    key = service_account(tmp_path, private_key="")
    assert problems(**PRODUCTION, FIREBASE_CREDENTIALS_FILE=key) == [
        f"FIREBASE_CREDENTIALS_FILE: {key!r} has no private_key"
    ]
    key = service_account(tmp_path, project_id="someone-else")
    assert problems(**PRODUCTION, FIREBASE_CREDENTIALS_FILE=key) == [
        "FIREBASE_CREDENTIALS_FILE: the key belongs to project 'someone-else', "
        "not FIREBASE_PROJECT_ID 'rewards-prod'"
    ]


def test_production_refuses_demo_projects_emulators_and_missing_default_credentials(tmp_path):
    assert problems(
        MODE="production",
        FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099",
        GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "adc.json"),
    ) == [
        "FIREBASE_PROJECT_ID: demo- projects exist only in the emulator; set your real project id "
        "in production mode",
        "FIREBASE_AUTH_EMULATOR_HOST: must be unset in production mode (emulator tokens are unsigned)",
        f"GOOGLE_APPLICATION_CREDENTIALS: cannot read {str(tmp_path / 'adc.json')!r}",
    ]


def test_production_accepts_a_service_account_key_of_its_project(tmp_path, monkeypatch):
    monkeypatch.setenv("MODE", "production")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "rewards-prod")
    monkeypatch.setenv("FIREBASE_CREDENTIALS_FILE", service_account(tmp_path))
    settings = load_settings()
    assert not settings.is_local and credential_problems(settings) == []


def test_every_setting_is_described_for_the_cli_help():
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 10, name
