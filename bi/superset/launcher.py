"""Open the scorecard in Apache Superset: `bash scripts/superset.sh` runs `up` here.

1. the Superset virtual environment is created from `bi/superset/requirements.lock` (exact pins) in
   a cache outside the repository, one per lock-file hash (CSAT_SUPERSET_VENV_CACHE);
2. Superset's home (CSAT_SUPERSET_HOME, default `.superset/`, git-ignored) gets its own metadata
   database, a generated SECRET_KEY and an admin user (CSAT_SUPERSET_ADMIN_USER / _PASSWORD, or a
   generated password printed once and kept in the home, readable by its owner only);
3. Superset starts on 127.0.0.1 (gunicorn), unless it already runs from this home;
4. the dashboard bundle (bi/superset/bundle.py) is imported through the assets API, which overwrites
   the database, datasets, charts and dashboard: re-running after a new publication or a changed bundle
   updates everything (there is no data cache to clear).

Runs with the project's .venv (it needs duckdb and the project's settings); Superset itself runs in
its own venv, because it needs SQLAlchemy < 2.
"""

from __future__ import annotations

import argparse
import hashlib
import http.cookiejar
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bundle  # noqa: E402

from dagster_project import settings  # noqa: E402

LOCK_FILE = HERE / "requirements.lock"
CONFIG_FILE = HERE / "superset_config.py"
STARTUP_TIMEOUT_S = 300


class LauncherError(RuntimeError):
    """Superset could not be set up or reached; the message says what to do."""


def lock_hash() -> str:
    return hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()[:16]


def venv_dir() -> Path:
    return settings.superset_venv_cache() / f"venv-{lock_hash()}"


def ensure_venv(python: str | None = None, log=print) -> Path:
    """The Superset venv of the current lock file; built (a few minutes) when missing. A venv is only
    used once its stamp file says the install finished, so an interrupted install is redone."""
    venv = venv_dir()
    stamp = venv / ".csat-installed"
    if stamp.is_file():
        return venv
    started = time.monotonic()
    log(f">> installing Superset into {venv} from {LOCK_FILE.relative_to(ROOT)} (first time: a few minutes)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([python or sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(LOCK_FILE)], check=True, cwd=venv)
    stamp.write_text(f"installed in {time.monotonic() - started:.0f} s\n")
    log(f">> Superset installed in {time.monotonic() - started:.0f} s")
    return venv


@dataclass
class Home:
    path: Path
    venv: Path
    admin_user: str
    admin_password: str

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CSAT_PUBLISH_POSTGRES", "CSAT_CRM_DATABASE")) and k != "VIRTUAL_ENV"
        }
        env.update(
            {
                "CSAT_SUPERSET_HOME": str(self.path),
                "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
                "FLASK_APP": "superset",
                "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": "",
                "SUPERSET_HOME": str(self.path),
            }
        )
        return env

    def superset(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(self.venv / "bin" / "superset"), *args], env=self.env(), capture_output=True, text=True
        )
        if done.returncode != 0:
            raise LauncherError(f"superset {args[0]} failed:\n{(done.stdout + done.stderr)[-3000:]}")
        return done


def _private_file(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    path.write_text(text)


def ensure_home(path: Path, venv: Path, log=print) -> Home:
    """Superset's home: secret key, metadata database (migrated for this lock file), admin user."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    secret = path / "secret_key"
    if not secret.is_file():
        _private_file(secret, secrets.token_urlsafe(48) + "\n")
    user, password = settings.superset_admin()
    password_file = path / "admin_password"
    generated = False
    if password is None:
        if not password_file.is_file():
            _private_file(password_file, secrets.token_urlsafe(16) + "\n")
            generated = True
        password = password_file.read_text().strip()
    home = Home(path, venv, user, password)
    stamp = path / f".initialised-{lock_hash()}"
    if not stamp.is_file():
        log(">> initialising Superset's metadata database")
        home.superset("db", "upgrade")
        home.superset("init")
        for old in path.glob(".initialised-*"):
            old.unlink()
        stamp.touch()
    users = home.superset("fab", "list-users").stdout
    if f"username:{user} |" not in users:
        home.superset(
            "fab",
            "create-admin",
            "--username",
            user,
            "--firstname",
            "CSAT",
            "--lastname",
            "Admin",
            "--email",
            f"{user}@localhost",
            "--password",
            password,
        )
    elif os.environ.get("CSAT_SUPERSET_ADMIN_PASSWORD"):
        home.superset("fab", "reset-password", "--username", user, "--password", password)
    if generated:
        log(f">> Superset admin user: {user}, generated password: {password} (kept in {password_file})")
    return home


def port_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def start(home: Home, port: int, log_file: Path | None = None) -> subprocess.Popen:
    """Superset (gunicorn) on 127.0.0.1:`port`, in its own process group; returns once it answers."""
    log_file = log_file or home.path / "superset.log"
    process = subprocess.Popen(
        [
            str(home.venv / "bin" / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "--timeout",
            "300",
            "--graceful-timeout",
            "5",
            "superset.app:create_app()",
        ],
        env=home.env(),
        cwd=home.path,
        stdout=open(log_file, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (home.path / "superset.pid").write_text(f"{process.pid} {port}\n")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not port_answers(port):
        if process.poll() is not None:
            raise LauncherError(f"Superset exited on start: {log_file.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            stop(process)
            raise LauncherError(f"Superset did not answer on port {port}: {log_file.read_text()[-3000:]}")
        time.sleep(1)
    return process


def stop_pid(pid: int, timeout: float = 30) -> None:
    """Stop the Superset started by `start` in another process (its process group), by its pid."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(pid, signal.SIGKILL)


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Client:
    """Superset's REST API as the admin (JWT login, then a CSRF token for the session)."""

    def __init__(self, base: str, user: str, password: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        token = self.call("POST", "/api/v1/security/login", {"username": user, "password": password, "provider": "db"})
        self.headers = {"Authorization": f"Bearer {token['access_token']}", "Referer": base}
        self.headers["X-CSRFToken"] = self.call("GET", "/api/v1/security/csrf_token/")["result"]

    def call(self, method: str, path: str, body=None, *, data: bytes | None = None, content_type: str | None = None):
        headers = dict(getattr(self, "headers", {}))
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=300) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise LauncherError(f"{method} {path}: HTTP {error.code}: {error.read()[:3000]!r}") from error

    def import_bundle(self, zipped: bytes) -> None:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n'.encode(),
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="csat_bundle.zip"\r\n'
                "Content-Type: application/zip\r\n\r\n"
            ).encode()
            + zipped
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        self.call(
            "POST",
            "/api/v1/assets/import/",
            data=b"".join(parts),
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    def dashboard_url(self) -> str:
        result = self.call("GET", f"/api/v1/dashboard/{bundle.DASHBOARD_SLUG}")["result"]
        return f"{self.base}/superset/dashboard/{result['slug'] or result['id']}/"


def running_port(home_path: Path) -> int | None:
    pid_file = home_path / "superset.pid"
    if not pid_file.is_file():
        return None
    pid, port = (int(x) for x in pid_file.read_text().split())
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return port if port_answers(port) else None


def import_dashboard(home: Home, port: int, published: Path, postgres_url: str | None, postgres_schema: str) -> str:
    files = bundle.build_files(published, postgres_url=postgres_url, postgres_schema=postgres_schema)
    client = Client(f"http://127.0.0.1:{port}", home.admin_user, home.admin_password)
    client.import_bundle(bundle.write_zip(files))
    return client.dashboard_url()


def up(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Open the scorecard in Apache Superset (see module docstring).")
    parser.add_argument("--port", type=int, default=settings.superset_port())
    parser.add_argument("--published", type=Path, default=settings.published_dir() / "csat.duckdb")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="read the PostgreSQL publication (CSAT_PUBLISH_POSTGRES_URL) instead of the DuckDB copy",
    )
    parser.add_argument("--no-wait", action="store_true", help="start (or update) and return; leave Superset running")
    args = parser.parse_args(argv)
    postgres_url = os.environ.get("CSAT_PUBLISH_POSTGRES_URL") if args.postgres else None
    if args.postgres and not postgres_url:
        raise LauncherError("--postgres needs CSAT_PUBLISH_POSTGRES_URL")
    postgres_schema = os.environ.get("CSAT_PUBLISH_POSTGRES_SCHEMA", bundle.MART_SCHEMA)
    home_path = settings.superset_home()
    venv = ensure_venv()
    home = ensure_home(home_path, venv)
    port = running_port(home_path)
    process = None
    if port is None:
        port = args.port
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                raise LauncherError(f"port {port} is taken: set CSAT_SUPERSET_PORT or --port")
        print(f">> starting Superset on http://127.0.0.1:{port} (log: {home_path / 'superset.log'})")
        process = start(home, port)
    else:
        print(f">> Superset already runs on port {port}: updating its dashboard")
    url = import_dashboard(home, port, args.published, postgres_url, postgres_schema)
    print(f">> dashboard imported: {url} (user {home.admin_user})")
    if process is None or args.no_wait:
        return 0
    print(">> Ctrl-C stops Superset")
    try:
        process.wait()
    except KeyboardInterrupt:
        stop(process)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(up(sys.argv[1:]))
    except LauncherError as error:
        print(f"!! {error}", file=sys.stderr)
        raise SystemExit(1) from None
