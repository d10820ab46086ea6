"""The warm dbt of `csat run` (dagster_project/dbt_server.py): a `csat-dbt` started by the process
that holds it runs on it, with the caller's command line, folder, environment, streams and exit
code; without one it runs dbt itself; a signal to the caller reaches dbt; a dbt whose caller is
killed ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dagster_project import dbt_server
from dagster_project.assets.warehouse import dbt_executable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the warm dbt is Linux-only")

# Python's own report of each module a process imports (stderr): whether the caller imported dbt.
IMPORT_REPORT = {"PYTHONPROFILEIMPORTTIME": "1"}


def _wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _csat_dbt(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command, environment = [dbt_executable(), *args], {**os.environ, **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=environment, timeout=120)


@pytest.mark.pipeline  # imports dbt
def test_a_dbt_command_of_csat_run_runs_on_its_warm_dbt(tmp_path):
    with dbt_server.warm_dbt():
        socket_file = dbt_server.socket_path(os.getpid())
        _wait_for(socket_file.exists)
        profiles = {"DBT_PROFILES_DIR": str(tmp_path), **IMPORT_REPORT}
        done = _csat_dbt("debug", "--config-dir", cwd=tmp_path, env=profiles)
        assert done.returncode == 0, done.stderr
        assert str(tmp_path) in done.stdout  # the caller's environment
        assert "dbt.cli.main" not in done.stderr  # the caller imported no dbt: the server had
        failed = _csat_dbt("no-such-command", cwd=tmp_path)
        assert failed.returncode == 2 and "No such command" in failed.stderr  # dbt's code and stderr
    assert not socket_file.exists()


@pytest.mark.pipeline  # imports dbt
def test_without_a_warm_dbt_csat_dbt_runs_dbt_itself(tmp_path):
    done = _csat_dbt("debug", "--config-dir", cwd=tmp_path, env={"DBT_PROFILES_DIR": str(tmp_path), **IMPORT_REPORT})
    assert done.returncode == 0 and str(tmp_path) in done.stdout
    assert "dbt.cli.main" in done.stderr


def _default_sigterm() -> None:
    """SIGTERM's default action, unblocked: the test process may handle, ignore or block it (an
    earlier test's Dagster run can leave a handler)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _catches(pid: int, sig: int) -> bool:
    """Whether process `pid` has a handler for `sig` (the kernel's mask of caught signals)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught >> (sig - 1) & 1)


def _fake_server(listener: socket.socket, worker: subprocess.Popen, requests: list, code: int) -> None:
    """A server that hands out `worker` as the client's dbt and answers `code` once it has ended."""
    connection, _ = listener.accept()
    header, streams, _, _ = socket.recv_fds(connection, 8, 3)
    for stream in streams:
        os.close(stream)
    requests.append(json.loads(dbt_server._receive(connection, int.from_bytes(header, "big"))))
    connection.sendall(worker.pid.to_bytes(8, "big", signed=True))
    worker.wait()
    connection.sendall(code.to_bytes(8, "big", signed=True))
    connection.close()


def test_a_signal_to_the_caller_reaches_its_dbt_and_the_caller_exits_with_dbt_code(tmp_path, monkeypatch):
    monkeypatch.setattr(dbt_server.tempfile, "gettempdir", lambda: str(tmp_path))
    assert dbt_server._private_folder(create=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(dbt_server.socket_path(os.getpid())))
    listener.listen()
    # stands for the forked dbt, which takes SIGTERM's default action whatever the test process does
    # with it (dbt_child.end_with_this_parent)
    worker = subprocess.Popen(["sleep", "60"], preexec_fn=_default_sigterm)
    requests: list = []
    server = threading.Thread(target=_fake_server, args=(listener, worker, requests, 7))
    server.start()
    call = "import sys; from dagster_project import dbt_server; sys.exit(dbt_server.run_on_server())"
    caller = subprocess.Popen([sys.executable, "-c", call], env={**os.environ, "TMPDIR": str(tmp_path)})
    _wait_for(lambda: requests)
    assert requests[0]["argv"][0] == "-c" and requests[0]["cwd"] == os.getcwd()
    _wait_for(lambda: _catches(caller.pid, signal.SIGTERM))  # the caller has the worker's pid
    caller.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == -signal.SIGTERM  # passed on to dbt
    assert caller.wait(timeout=30) == 7  # the caller ended with dbt, with its code
    server.join()
    listener.close()


def test_a_dbt_whose_caller_is_killed_ends():
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the worker: waits on its connection as dbt_server's workers do
        _default_sigterm()  # as a worker has it (dbt_child.end_with_this_parent)
        ours.close()
        dbt_server._end_with_client(theirs)
        time.sleep(60)
        os._exit(0)
    theirs.close()
    ours.close()  # the caller is gone
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM


def test_a_socket_in_a_folder_others_can_reach_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(dbt_server.tempfile, "gettempdir", lambda: str(tmp_path))
    folder = dbt_server.socket_path(os.getppid()).parent
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    dbt_server.socket_path(os.getppid()).touch()
    assert not dbt_server._private_folder(create=False)
    assert dbt_server.run_on_server() is None  # then csat-dbt runs dbt itself


def test_csat_run_holds_a_warm_dbt_while_it_builds_its_definitions_and_runs(monkeypatch, tmp_path):
    from contextlib import contextmanager

    from dagster_project import cli, definitions

    held = []

    @contextmanager
    def recorded():
        held.append("entered")
        try:
            yield
        finally:
            held.append("left")

    def build_definitions(**_kwargs):
        assert held == ["entered"]  # the server imports dbt while the definitions are built
        raise RuntimeError("stop here")

    monkeypatch.setattr(dbt_server, "warm_dbt", recorded)
    monkeypatch.setattr(definitions, "build_definitions", build_definitions)
    with pytest.raises(RuntimeError, match="stop here"):
        cli._execute_pipeline(tmp_path / "landing", tmp_path / "warehouse" / "csat.duckdb")
    assert held == ["entered", "left"]


def test_without_a_folder_for_its_socket_csat_run_goes_on_without_a_warm_dbt(tmp_path, monkeypatch):
    for temporary in (tmp_path / "missing" / "folder", tmp_path / ("x" * 120)):
        monkeypatch.setattr(dbt_server.tempfile, "gettempdir", lambda temporary=temporary: str(temporary))
        with dbt_server.warm_dbt():
            assert not dbt_server.socket_path(os.getpid()).exists()
        assert not dbt_server.socket_path(os.getpid()).parent.exists()


def test_the_sockets_of_runs_killed_outright_are_removed(tmp_path, monkeypatch):
    """A run killed with SIGKILL leaves its socket (its server dies without cleaning up); the next
    run removes the sockets whose process is gone, and no other file."""
    monkeypatch.setattr(dbt_server.tempfile, "gettempdir", lambda: str(tmp_path))
    assert dbt_server._private_folder(create=True)
    ended = [subprocess.Popen(["true"]) for _ in range(2)]
    for process in ended:
        process.wait()
    with subprocess.Popen(["sleep", "60"]) as running:
        try:
            stale = [dbt_server.socket_path(ended[0].pid), dbt_server.socket_path(ended[1].pid)]
            stale[1] = stale[1].with_name(f".{stale[1].name}")  # one left while it was being bound
            kept = [dbt_server.socket_path(running.pid), dbt_server.socket_path(ended[0].pid).with_suffix(".txt")]
            for path in stale + kept:
                path.touch()
            dbt_server._remove_stale_sockets()
            assert [path.exists() for path in stale + kept] == [False, False, True, True]
        finally:
            running.kill()
