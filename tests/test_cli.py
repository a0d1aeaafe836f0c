"""The `rewards` CLI, run as an operator runs it: in a subprocess, reading the environment."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from uvicorn.config import LOGGING_CONFIG
from websockets.sync.client import connect

from backend.cli import parser
from backend.serving import WebSocketAccessFilter, uvicorn_options
from backend.settings import Settings
from tests.conftest import BACKENDS, PG_URL, _pg_admin, asyncpg_url

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_VARS = {name.upper() for name in Settings.model_fields} | {
    "GOOGLE_APPLICATION_CREDENTIALS"
}
COMMANDS = [
    "serve",
    "migrate",
    "seed-demo",
    "seed-bench",
    "dev-token",
    "expire-points",
    "push-worker",
    "automations-worker",
    "campaign-worker",
]


def rewards(*args: str, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """Run `rewards ARGS` with only the given settings in the environment."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers by name."""
    (group,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(group.choices)


def test_every_subcommand_is_tested_here():
    assert sorted(subcommands()) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_help_says_what_it_does_its_options_and_its_variables(command, tmp_path):
    result = rewards(command, "--help", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    text = result.stdout
    sub = subcommands()[command]
    assert sub.description and len(sub.description) > 60  # a real sentence, not a label
    assert " ".join(sub.description.split()) in " ".join(text.split())
    for action in sub._actions:
        assert action.help, f"{command} {action.option_strings} has no help text"
        for option in action.option_strings:
            assert option in text
    assert "environment (or a .env file in the working directory):" in text
    reads = sub.get_default("reads")
    names = list(Settings.model_fields) if reads == ("*",) else list(reads)
    assert names
    for name in names:
        assert name in Settings.model_fields
        assert f"  {name.upper()} " in text, name


def test_the_root_help_lists_every_command(tmp_path):
    result = rewards("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


def assert_one_line_errors(result: subprocess.CompletedProcess, expected: list[str]) -> None:
    """Exit status 2, exactly these lines on stderr, no traceback."""
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"rewards: {line}" for line in expected]
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_settings_print_one_line_each_and_exit_2(tmp_path):
    result = rewards(
        "migrate",
        cwd=tmp_path,
        JOBS_INTERVAL_SECONDS="-5",
        DATABASE_URL="mysql://app@db/rewards",
        MAX_ALIASES="0",
    )
    assert_one_line_errors(
        result,
        [
            "DATABASE_URL: 'mysql' databases are not supported; use sqlite:///path/to/file.db or "
            "postgresql://user:password@host:5432/database",
            "JOBS_INTERVAL_SECONDS: must be greater than 0",
            "MAX_ALIASES: must be greater than 0",
        ],
    )
    assert list(tmp_path.iterdir()) == []  # nothing was created


@pytest.mark.parametrize("url", ["postgresql://nobody@", "sqlite:////no/such/dir/x.db", "nonsense"])
def test_serve_with_a_malformed_database_url_says_so_in_one_line(url, tmp_path):
    result = rewards("serve", "--port", "1", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("rewards: DATABASE_URL: ")


def test_an_unreachable_database_is_one_line(tmp_path):
    url = "postgresql://rewards@127.0.0.1:1/rewards"  # nothing listens on port 1
    result = rewards("expire-points", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "rewards: DATABASE_URL: cannot connect to postgresql+asyncpg://rewards@127.0.0.1:1/rewards: "
    )


def test_production_without_usable_credentials_exits_2_in_one_line_per_problem(tmp_path):
    result = rewards(
        "serve", cwd=tmp_path, MODE="production", FIREBASE_CREDENTIALS_FILE="missing.json"
    )
    assert_one_line_errors(
        result,
        [
            "FIREBASE_CREDENTIALS_FILE: no such file 'missing.json'",
            "FIREBASE_PROJECT_ID: demo- projects exist only in the emulator; set your real "
            "project id in production mode",
        ],
    )


def key_file(tmp_path: Path, private_key: str) -> Path:
    """A service-account key file for project rewards-prod."""
    path = tmp_path / "key.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "rewards-prod",
                "private_key_id": "k1",
                "private_key": private_key,
                "client_email": "api@rewards-prod.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path


def test_production_with_a_key_that_firebase_cannot_load_exits_2(tmp_path):
    key = key_file(tmp_path, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    env = {"MODE": "production", "FIREBASE_PROJECT_ID": "rewards-prod"}
    result = rewards("serve", cwd=tmp_path, FIREBASE_CREDENTIALS_FILE=str(key), **env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("rewards: FIREBASE_CREDENTIALS_FILE: not a usable service-account key")


def test_the_verifier_loads_a_real_service_account_key(tmp_path, monkeypatch):
    from backend.adapters.firebase_auth import EMULATOR_HOST_ENV, verifier_from_settings
    from backend.settings import load_settings

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        mode="production",
        firebase_project_id="rewards-prod",
        firebase_credentials_file=str(key_file(tmp_path, pem)),
    )
    assert os.environ.get(EMULATOR_HOST_ENV) is None
    verifier = verifier_from_settings(settings)
    try:
        assert verifier.check_revoked and verifier.revocation_cache_seconds == 30
    finally:
        verifier.close()


def test_dev_token_refuses_bad_arguments_and_production_mode(tmp_path):
    for args, fragment in [
        (["--uid", "x" * 129], "argument --uid: must be 1 to 128 characters"),
        (["--uid", "a", "--ttl", "-5"], "argument --ttl: must be a whole number above 0"),
        (["--uid", "a", "--role", "root"], "argument --role: invalid choice: 'root'"),
    ]:
        result = rewards("dev-token", *args, cwd=tmp_path)
        assert result.returncode == 2 and fragment in result.stderr, result.stderr
    result = rewards(
        "dev-token",
        "--uid",
        "a",
        cwd=tmp_path,
        MODE="production",
        FIREBASE_PROJECT_ID="rewards-prod",
    )
    assert_one_line_errors(result, ["MODE: dev tokens are only accepted in local mode"])
    result = rewards("dev-token", "--uid", "sam", "--role", "support", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.count(".") == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_accepts_the_plain_url_forms(backend, tmp_path):
    if backend == "sqlite":
        result = rewards("migrate", cwd=tmp_path, DATABASE_URL="sqlite:///./plain.db")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "plain.db").exists()
        return
    from scripts.pg_admin import pg_execute

    assert PG_URL is not None
    name = f"rewards_cli_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_execute(asyncpg_url(PG_URL), f'CREATE DATABASE "{name}"'))
    try:
        plain = asyncpg_url(PG_URL, name).replace("postgresql+asyncpg://", "postgres://")
        result = rewards("migrate", cwd=tmp_path, DATABASE_URL=plain)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "database is at the newest migration"
    finally:
        asyncio.run(
            pg_execute(asyncpg_url(PG_URL), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


def test_serve_workers_default_to_the_cpus_in_production_and_to_one_locally(monkeypatch):
    from backend.cli import worker_count

    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    local = Settings(mode="local")
    production = Settings(mode="production", firebase_project_id="rewards-prod")
    assert (worker_count(None, local), worker_count(None, production)) == (1, 6)
    assert worker_count(None, production.model_copy(update={"workers": 3})) == 3
    assert worker_count(2, production.model_copy(update={"workers": 3})) == 2  # the option wins
    assert "--workers" in rewards("serve", "--help", cwd=ROOT).stdout


def test_serve_workers_refuses_zero_and_the_setting_too(tmp_path):
    result = rewards("serve", "--workers", "0", cwd=tmp_path)
    assert result.returncode == 2 and "--workers: must be a whole number above 0" in result.stderr
    result = rewards("serve", cwd=tmp_path, WORKERS="0")
    assert result.returncode == 2 and result.stderr == "rewards: WORKERS: must be greater than 0\n"
    assert list(tmp_path.iterdir()) == []  # nothing was created


def test_serve_with_two_workers_answers_from_two_processes_and_drops_slow_heads(tmp_path):
    # Given `rewards serve` with two workers and the default (no) access log
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env |= {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path}/rewards.db",
        "JOBS_ENABLED": "false",
        "REQUEST_HEADER_TIMEOUT_SECONDS": "1",
    }
    log_path = tmp_path / "server.log"
    command = [sys.executable, "-m", "backend.cli", "serve", "--workers", "2", "--port", str(port)]
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while log_path.read_text().count("Application startup complete") < 2:
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        request = urllib.request.Request(
            f"{url}/graphql",
            data=b'{"query": "{ __typename }"}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response) == {"data": {"__typename": "Query"}}
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\n")  # the head never completes
            assert slow.recv(1) == b""  # closed by the worker after 1 s, not after 10
        for _ in range(2):  # WebSockets open and close (not signed in), reaching either worker
            with connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]):  # type: ignore[list-item]
                pass
    finally:
        server.terminate()
        server.wait(timeout=20)
    text = log_path.read_text()
    workers = {line.split("[")[1] for line in text.splitlines() if "Started server process" in line}
    assert len(workers) == 2, text
    assert text.count("Running upgrade 0001 -> 0002") == 1  # migrated once, before the workers
    # And no line per WebSocket, as none per HTTP request: they are DEBUG without ACCESS_LOG
    assert "connection open" not in text and '"WebSocket /graphql"' not in text, text
    assert "connection closed" not in text, text


def test_websocket_lines_follow_the_access_log():
    quiet, loud = (uvicorn_options(Settings(access_log=flag)) for flag in (False, True))
    assert quiet["log_config"]["loggers"]["uvicorn.error"]["filters"] == ["websocket_access"]
    assert loud["log_config"] == LOGGING_CONFIG  # ACCESS_LOG=true: uvicorn's INFO lines, as is
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, "connection open", (), None)
    assert not WebSocketAccessFilter().filter(record) and record.levelname == "DEBUG"


@pytest.mark.parametrize("backend", BACKENDS)
def test_seed_bench_fills_an_empty_database_once(backend, tmp_path):
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    else:
        name = f"rewards_cli_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = asyncpg_url(PG_URL, name)
    try:
        args = ("seed-bench", "--members", "40", "--entries-per-member", "6")
        first = rewards(*args, cwd=tmp_path, DATABASE_URL=url)
        assert first.returncode == 0, first.stderr
        report = json.loads(first.stdout)
        assert report["rows"]["member"] == 40 and report["rows"]["ledger_entry"] > 40
        again = rewards(*args, cwd=tmp_path, DATABASE_URL=url)
        assert again.returncode == 2
        assert again.stderr.strip() == (
            "rewards: DATABASE_URL: seed-bench fills an empty database: it already has members"
        )
    finally:
        if backend == "postgresql":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_push_worker_runs_as_its_own_process_sends_queued_pushes_and_stops_on_sigterm(tmp_path):
    # given a database with a member whose phone has a queued push
    url = f"sqlite:///{tmp_path / 'push.db'}"
    assert rewards("migrate", cwd=tmp_path, DATABASE_URL=url).returncode == 0

    async def queue_one() -> None:
        from backend.db.engine import open_database
        from backend.rewards.clock import SystemClock
        from backend.rewards.uow import UnitOfWorkFactory
        from tests.push_support import member_with_devices, queue

        db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'push.db'}")
        try:
            uows = UnitOfWorkFactory(db.session_factory(), SystemClock())
            await queue(uows, await member_with_devices(uows, "pia", ["ok-pia-phone"]))
        finally:
            await db.dispose()

    asyncio.run(queue_one())
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env |= {"DATABASE_URL": url, "PUSH_BACKEND": "log", "PUSH_POLL_SECONDS": "0.2"}
    # when the worker runs beside nothing else
    worker = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "push-worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _sent_count(tmp_path / "push.db") < 1:
            time.sleep(0.2)
    finally:
        worker.terminate()
        out, err = worker.communicate(timeout=30)
    # then the push was logged (with the token's tail only) and the worker stopped cleanly
    assert worker.returncode == 0, err
    assert "push worker sending to the log" in out
    assert err.count("push to …ia-phone: Welcome to Gold") == 1, err
    assert "ok-pia-phone" not in err
    assert _sent_count(tmp_path / "push.db") == 1


def test_automations_worker_once_gives_todays_birthday_gift(tmp_path):
    # given a member born on this day (UTC, their zone) in 1992
    async def enrol() -> None:
        from datetime import UTC, datetime

        from backend.db.engine import open_database
        from backend.db.migrate import upgrade_to_head
        from backend.rewards.clock import SystemClock
        from backend.rewards.uow import UnitOfWorkFactory
        from tests.helpers import new_member

        db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'auto.db'}")
        try:
            await upgrade_to_head(db.writer)
            uows = UnitOfWorkFactory(db.session_factory(), SystemClock())
            born = datetime.now(UTC).date().replace(year=1992)  # a leap year: 29 February too
            await new_member(uows, "bo", birth_date=born)
        finally:
            await db.dispose()

    asyncio.run(enrol())
    # when the worker runs once
    url = f"sqlite:///{tmp_path / 'auto.db'}"
    result = rewards("automations-worker", "--once", cwd=tmp_path, DATABASE_URL=url)
    # then it reports the gift it gave
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "birthdays": 1,
        "expiry_warnings": 0,
        "tier_nudges": 0,
        "renewal_reminders": 0,
    }


def test_campaign_worker_runs_as_its_own_process_sends_a_due_surprise_and_stops(tmp_path):
    # given a database with three members and a surprise for them, due now
    url = f"sqlite:///{tmp_path / 'campaign.db'}"
    assert rewards("migrate", cwd=tmp_path, DATABASE_URL=url).returncode == 0

    async def schedule() -> None:
        from backend.db.engine import open_database
        from backend.rewards.clock import SystemClock
        from backend.rewards.uow import UnitOfWorkFactory
        from tests.marketing_support import a_segment, bulk_members, send, surprise

        db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'campaign.db'}")
        try:
            uows = UnitOfWorkFactory(db.session_factory(), SystemClock())
            await bulk_members(uows, 3, prefix="cli")
            await send(uows, surprise(await a_segment(uows)))
        finally:
            await db.dispose()

    asyncio.run(schedule())
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env |= {"DATABASE_URL": url, "CAMPAIGN_POLL_SECONDS": "0.2"}
    # when the worker runs beside nothing else
    worker = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "campaign-worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline
            and _count(tmp_path / "campaign.db", "campaign_recipient") < 3
        ):
            time.sleep(0.2)
    finally:
        worker.terminate()
        out, err = worker.communicate(timeout=30)
    # then every member got the surprise once and the worker stopped cleanly
    assert worker.returncode == 0, err
    assert "campaign worker sending due surprises" in out
    assert _count(tmp_path / "campaign.db", "campaign_recipient") == 3
    assert _count(tmp_path / "campaign.db", "ledger_entry") == 3


def _count(path: Path, table: str) -> int:
    """Rows of a table in a SQLite database."""
    import sqlite3

    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _sent_count(path: Path) -> int:
    """Pushes recorded as SENT in a SQLite database."""
    import sqlite3

    with sqlite3.connect(path) as db:
        return int(
            db.execute("SELECT count(*) FROM push_outbox WHERE status = 'SENT'").fetchone()[0]
        )


def test_production_without_any_credentials_exits_2_in_one_line(tmp_path):
    env = {"MODE": "production", "FIREBASE_PROJECT_ID": "rewards-prod"}
    result = rewards("serve", cwd=tmp_path, GOOGLE_APPLICATION_CREDENTIALS="", **env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("rewards: FIREBASE_CREDENTIALS_FILE: revocation checks need credentials")


def test_fcm_pushes_without_any_credentials_are_a_configuration_error(monkeypatch):
    from backend.adapters.fcm_push import fcm_sender_from_settings
    from backend.settings import ConfigError, Settings

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    settings = Settings(mode="production", firebase_project_id="rewards-prod", push_backend="fcm")
    with pytest.raises(ConfigError) as caught:
        fcm_sender_from_settings(settings)
    (problem,) = caught.value.problems
    assert problem.startswith("FIREBASE_CREDENTIALS_FILE: FCM pushes need credentials (")
    assert problem.endswith("; or set PUSH_BACKEND=log")
