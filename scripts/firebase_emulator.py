"""Run the real Firebase Auth emulator (npm firebase-tools) offline, for tests and local dev.

    python scripts/firebase_emulator.py start [--port 9099] [--project demo-rewards-test]
    python scripts/firebase_emulator.py stop  [--port 9099]
    python scripts/firebase_emulator.py run   [--port 9099]    # foreground until Ctrl-C

Importable: `start_emulator(port)` returns an `AuthEmulator` with `.host`, `.project_id`,
REST/admin helpers (`sign_up`, `sign_in`, `set_role`, `revoke`, `disable`, ...) and `.stop()`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIREBASE_BIN = REPO_ROOT / "node_modules" / ".bin" / "firebase"
CONFIG_FILE = REPO_ROOT / "firebase.json"
STATE_DIR = REPO_ROOT / ".firebase-emulator"  # git-ignored: config copies, logs, pid files
HOST = "127.0.0.1"
DEFAULT_PORT = 9099
DEFAULT_PROJECT = "demo-rewards-test"  # "demo-" ids never reach real Google services
START_TIMEOUT_SECONDS = 90.0  # about 15 s on two cores; leave room for a loaded machine
STOP_TIMEOUT_SECONDS = 10.0
EMULATOR_HOST_ENV = "FIREBASE_AUTH_EMULATOR_HOST"
IDENTITY_TOOLKIT = "identitytoolkit.googleapis.com/v1"

# firebase-admin reads the emulator variable when called; helpers set it briefly, one at a time.
_ENV_LOCK = threading.Lock()


class EmulatorError(RuntimeError):
    """The emulator could not be started, reached or stopped."""


@dataclass
class AuthEmulator:
    """A running Auth emulator and helpers to drive it like a phone app and an admin would."""

    port: int
    project_id: str
    pid: int
    run_dir: Path
    started_in: float = 0.0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _admin: Any = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """host:port, the value for FIREBASE_AUTH_EMULATOR_HOST."""
        return f"{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """The emulator's combined stdout and stderr."""
        return self.run_dir / "emulator.log"

    def stop(self) -> None:
        """Stop the emulator's whole process group, drop the admin app and the run's files."""
        if self._admin is not None:
            import firebase_admin

            firebase_admin.delete_app(self._admin[0])
            self._admin = None
        _stop_group(self.pid, self.process)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def sign_up(self, email: str, password: str) -> tuple[str, str]:
        """Create a password user through the client REST API; return (uid, ID token)."""
        body = {"email": email, "password": password, "returnSecureToken": True}
        reply = self._client_call("accounts:signUp", body)
        return reply["localId"], reply["idToken"]

    def sign_in(self, email: str, password: str) -> str:
        """Sign a password user in again; return a fresh ID token (with current claims)."""
        body = {"email": email, "password": password, "returnSecureToken": True}
        return str(self._client_call("accounts:signInWithPassword", body)["idToken"])

    def sign_in_with_custom_token(self, uid: str, claims: dict[str, Any] | None = None) -> str:
        """Mint a custom token with firebase-admin and exchange it for an ID token."""
        custom = self._admin_call("create_custom_token", uid, claims).decode()
        body = {"token": custom, "returnSecureToken": True}
        return str(self._client_call("accounts:signInWithCustomToken", body)["idToken"])

    def set_role(self, uid: str, role: str | None) -> None:
        """Set (or with None clear) the `role` custom claim; new tokens carry it."""
        self._admin_call("set_custom_user_claims", uid, None if role is None else {"role": role})

    def revoke(self, uid: str) -> None:
        """Revoke the user's refresh tokens; tokens issued before now fail revocation checks."""
        self._admin_call("revoke_refresh_tokens", uid)

    def disable(self, uid: str) -> None:
        """Disable the user account."""
        self._admin_call("update_user", uid, disabled=True)

    def delete(self, uid: str) -> None:
        """Delete the user account."""
        self._admin_call("delete_user", uid)

    def reset(self) -> None:
        """Delete every account in the emulator's project (test isolation)."""
        url = f"http://{self.host}/emulator/v1/projects/{self.project_id}/accounts"
        _request("DELETE", url, None, as_owner=True)

    def _client_call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the emulated Identity Toolkit client API, as the Firebase JS SDK would."""
        return _request("POST", f"http://{self.host}/{IDENTITY_TOOLKIT}/{method}?key=any", body)

    def _admin_call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a firebase-admin auth Client method against this emulator."""
        with self._emulator_env():
            return getattr(self._admin_client(), name)(*args, **kwargs)

    def _admin_client(self) -> Any:
        """A firebase-admin auth Client bound to this emulator, on its own named app."""
        if self._admin is None:
            import firebase_admin
            from firebase_admin import auth
            from google.auth.credentials import AnonymousCredentials

            app = firebase_admin.initialize_app(
                AnonymousCredentials(),  # type: ignore[no-untyped-call]
                options={"projectId": self.project_id},
                name=f"auth-emulator-admin-{self.port}-{uuid.uuid4().hex}",
            )
            self._admin = (app, auth.Client(app))
        return self._admin[1]

    @contextlib.contextmanager
    def _emulator_env(self) -> Iterator[None]:
        """Point firebase-admin at this emulator for the duration of one call."""
        with _ENV_LOCK:
            previous = os.environ.get(EMULATOR_HOST_ENV)
            os.environ[EMULATOR_HOST_ENV] = self.host
            try:
                yield
            finally:
                if previous is None:
                    del os.environ[EMULATOR_HOST_ENV]
                else:
                    os.environ[EMULATOR_HOST_ENV] = previous


def start_emulator(
    port: int = DEFAULT_PORT,
    *,
    project_id: str = DEFAULT_PROJECT,
    timeout: float = START_TIMEOUT_SECONDS,
    detach: bool = False,
) -> AuthEmulator:
    """Start the Auth emulator on 127.0.0.1:port and return once it answers HTTP."""
    require_firebase_cli()
    _require_free(port)
    run_dir = _prepare_run_dir(port)
    started = time.monotonic()
    process = _spawn(run_dir, project_id, detach)
    (run_dir / "pid").write_text(str(process.pid))
    emulator = AuthEmulator(port, project_id, process.pid, run_dir, process=process)
    try:
        _wait_until_ready(emulator, process, timeout)
    except BaseException:
        _stop_group(process.pid, process)  # keeps the run directory and its log for a look
        raise
    emulator.started_in = time.monotonic() - started
    return emulator


def stop_emulator(port: int = DEFAULT_PORT) -> bool:
    """Stop an emulator that `start` left running on this port; False if none was."""
    pid_file = STATE_DIR / f"auth-{port}" / "pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    running = _is_our_emulator(pid)
    if running:
        _stop_group(pid, None)
    shutil.rmtree(pid_file.parent, ignore_errors=True)
    return running


def require_firebase_cli() -> None:
    """Fail with the fix when firebase-tools is not installed."""
    if not FIREBASE_BIN.exists():
        raise EmulatorError(
            f"{FIREBASE_BIN} is missing: run `npm ci` (or `npm install`) in {REPO_ROOT}"
        )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _require_free(port: int) -> None:
    """Refuse early and clearly if something already listens on the port."""
    with socket.socket() as sock:
        # Node sets SO_REUSEADDR too, so lingering TIME_WAIT sockets must not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as error:
            raise EmulatorError(f"port {port} on {HOST} is already in use") from error


def _prepare_run_dir(port: int) -> Path:
    """Create a fresh per-port directory holding the config, temp files and logs of one run."""
    run_dir = STATE_DIR / f"auth-{port}"
    old_pid = run_dir / "pid"
    if old_pid.exists() and _is_our_emulator(int(old_pid.read_text())):
        raise EmulatorError(f"an emulator started here still runs on port {port}; stop it first")
    shutil.rmtree(run_dir, ignore_errors=True)
    for sub in ("tmp", "config"):
        (run_dir / sub).mkdir(parents=True)
    (run_dir / "firebase.json").write_text(json.dumps(_config(port), indent=2))
    return run_dir


def _config(port: int) -> dict[str, Any]:
    """The repo's firebase.json with this run's ports.

    Hub and logging ports are pinned to free ones: their fixed defaults (4400, 4500) would make
    two emulators started at once (parallel test runs) race for the same ports.
    """
    config: dict[str, Any] = json.loads(CONFIG_FILE.read_text())
    emulators = config.setdefault("emulators", {})
    emulators["auth"] = {"host": HOST, "port": port}
    emulators["hub"] = {"host": HOST, "port": free_port()}
    emulators["logging"] = {"host": HOST, "port": free_port()}
    return config


def _spawn(run_dir: Path, project_id: str, detach: bool) -> subprocess.Popen[bytes]:
    """Launch firebase-tools in its own process group, logging to the run directory."""
    command = [str(FIREBASE_BIN), "emulators:start", "--only", "auth", "--project", project_id]
    command += ["--config", str(run_dir / "firebase.json")]
    with open(run_dir / "emulator.log", "wb") as log:
        return subprocess.Popen(
            command,
            cwd=run_dir,  # firebase-debug.log lands here, not in the repo
            env=_offline_env(run_dir),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one group to kill; Ctrl-C in a terminal does not reach it
            preexec_fn=None if detach else _die_with_parent,
        )


def _offline_env(run_dir: Path) -> dict[str, str]:
    """Environment that keeps firebase-tools offline and away from the user's login."""
    env = dict(os.environ)
    env.update(
        CI="true",  # skips the MOTD fetch from firebase-public.firebaseio.com
        NO_UPDATE_NOTIFIER="1",  # skips the npm registry update check
        # A private config store: no user login, no usage-tracking opt-in, no cached state.
        XDG_CONFIG_HOME=str(run_dir / "config"),
        # The hub's locator file goes in TMPDIR; per run, so parallel emulators do not clash.
        TMPDIR=str(run_dir / "tmp"),
    )
    env.pop(EMULATOR_HOST_ENV, None)
    return env


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the emulator if the test process dies without stopping it."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_until_ready(
    emulator: AuthEmulator, process: subprocess.Popen[bytes], timeout: float
) -> None:
    """Poll the emulator's root URL until it reports ready, or fail with the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(f"emulator exited with {process.returncode}:\n{_tail(emulator)}")
        if _is_ready(emulator.host):
            return
        time.sleep(0.2)
    raise EmulatorError(f"emulator not ready after {timeout:.0f} s:\n{_tail(emulator)}")


def _is_ready(host: str) -> bool:
    """True once GET / answers {"authEmulator": {"ready": true}}."""
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=1) as response:
            return bool(json.load(response).get("authEmulator", {}).get("ready"))
    except (OSError, ValueError):
        return False


def _tail(emulator: AuthEmulator, lines: int = 30) -> str:
    """The last lines of the emulator's log, for error messages."""
    try:
        return "\n".join(emulator.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_group(pid: int, process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM the process group (firebase-tools shuts down cleanly), SIGKILL what remains."""
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and _running(pid, process):
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    if process is not None:
        process.wait()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _running(pid: int, process: subprocess.Popen[bytes] | None) -> bool:
    """True while the group leader lives (our own child is checked without leaving a zombie)."""
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _is_our_emulator(pid: int) -> bool:
    """True if pid is alive and is a firebase emulator, so a recycled pid is never killed."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"emulators:start" in cmdline


def _request(
    method: str, url: str, body: dict[str, Any] | None, *, as_owner: bool = False
) -> dict[str, Any]:
    """Send JSON to the emulator; raise EmulatorError with its error message on failure."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if as_owner:
        # The emulator's admin token; on client calls it would turn them into admin calls,
        # which return no ID token.
        headers["Authorization"] = "Bearer owner"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            reply: dict[str, Any] = json.load(response) or {}
            return reply
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        raise EmulatorError(f"{method} {url} failed with {error.code}: {detail}") from error


def main(argv: list[str] | None = None) -> int:
    """Command line: start (detached), stop, or run in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "run"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    args = parser.parse_args(argv)
    if args.command == "stop":
        stopped = stop_emulator(args.port)
        print("stopped" if stopped else f"no emulator started here on port {args.port}")
        return 0
    try:
        emulator = start_emulator(
            args.port, project_id=args.project, detach=args.command == "start"
        )
    except EmulatorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Auth emulator ready in {emulator.started_in:.1f} s (project {emulator.project_id})")
    print(f"export {EMULATOR_HOST_ENV}={emulator.host}")
    print(f"log: {emulator.log_path}")
    if args.command == "run":
        _run_until_interrupted(emulator)
    return 0


def _run_until_interrupted(emulator: AuthEmulator) -> None:
    """Keep the emulator in the foreground until Ctrl-C, then stop it."""
    try:
        assert emulator.process is not None
        emulator.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
