"""A warm dbt for `csat run`: dbt imported once, ahead of the dbt step, and forked for each dbt child.

Importing dbt-core and its DuckDB adapter takes 1.6-1.7 s of a core here, and every dbt command the
pipeline starts (`csat-dbt`, dagster_project/dbt_child.py) paid it before dbt did anything: in the 1M
daily increment, 1.5 s between Dagster starting dbt and dbt's first line. `csat run` starts this
server before it builds its definitions (single-threaded work that leaves the second core idle);
it imports dbt and listens on a Unix socket named after the `csat run` process. A `csat-dbt`
started by that process (dagster-dbt's subprocess, unchanged) finds the socket, hands over its
command line, working folder, environment and standard streams (file descriptors, SCM_RIGHTS), and
the server forks a worker that becomes that dbt command: it writes to the client's streams, so
dagster-dbt reads dbt's events as before, and its exit code is the client's. A signal to the client
(dagster-dbt's interrupt) is passed on to the worker; a client that dies (kill -9) closes the
socket, and the worker then ends itself. Without a server (a dbt command typed by hand, `dagster
dev`, the server not ready yet, a server that failed to start the worker) `csat-dbt` runs dbt
itself, as before.

The socket lives in a folder of this user's only (mode 0700), checked before use by both sides.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

_LENGTH = struct.Struct("!Q")  # the request's length, sent with the client's streams
_CODE = struct.Struct("!q")  # the worker's pid, then dbt's exit code
_STREAMS = 3  # stdin, stdout, stderr
_PATH_MAX = 100  # a Unix socket's path has room for 107 bytes on Linux
# What the server imports before it listens: dbt's command line and the DuckDB adapter, most of a
# dbt command's start (the adapter of another engine is imported by the worker, as before).
_PRELOAD = ("dbt.cli.main", "dbt.adapters.duckdb")


def _folder() -> Path:
    return Path(tempfile.gettempdir()) / f"csat-dbt-{os.getuid()}"


def socket_path(pid: int) -> Path:
    """Where the server of the `csat run` process `pid` listens."""
    return _folder() / f"{pid}.sock"


def _private_folder(create: bool) -> bool:
    """Whether the sockets' folder exists (created if asked) and is this user's alone."""
    folder = _folder()
    try:
        if create:
            folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()
    except OSError:  # no temporary folder to write in: dbt commands run dbt themselves
        return False
    return status.st_uid == os.getuid() and (status.st_mode & 0o777) == 0o700 and folder.is_dir()


def _remove_stale_sockets() -> None:
    """Remove the sockets of runs that ended without removing theirs (killed outright: the server dies
    with its run, by its parent-death signal, and cannot clean up): their process is gone. This
    run's own, from a process that had its pid before, goes too."""
    for entry in _folder().glob("*.sock"):  # a socket being bound is `.<pid>.sock`, matched too
        pid = entry.name.lstrip(".").removesuffix(".sock")
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process (not expected in this user's folder)
        pass
    return True


@contextlib.contextmanager
def warm_dbt() -> Iterator[None]:
    """Keep a warm dbt for the dbt commands this process starts while the block runs."""
    path = socket_path(os.getpid())
    if not sys.platform.startswith("linux") or len(bytes(path)) > _PATH_MAX or not _private_folder(create=True):
        yield
        return
    _remove_stale_sockets()
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster_project.dbt_server", str(path), str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        server.terminate()
        server.wait()
        path.unlink(missing_ok=True)


def serve(path: Path, parent: int) -> None:
    """Import dbt, then fork a worker for each client on `path` until `parent` ends (or a SIGTERM)."""
    from dagster_project.dbt_child import end_with_this_parent, tune_gc

    end_with_this_parent(parent)
    tune_gc()
    for module in _PRELOAD:
        with contextlib.suppress(ImportError):
            __import__(module)
    gc.freeze()  # what the workers share: left out of their collections, its pages never copied
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staged = path.with_name(f".{path.name}")
    staged.unlink(missing_ok=True)
    listener.bind(str(staged))
    listener.listen()
    os.replace(staged, path)  # a client sees the socket only once dbt is imported
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _work(connection)  # never returns
        connection.close()


def _receive(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client went away")
        data += chunk
    return data


def _work(connection: socket.socket) -> None:
    """In a forked worker: become the client's dbt command, tell the client dbt's exit code, then
    exit as a dbt process of its own would (dbt's DuckDB connection closed and checkpointed in the
    interpreter's teardown). The client waits for the connection to close with this process, so
    the pipeline's next step never finds the warehouse still held."""
    try:
        from dagster_project.dbt_child import end_with_this_parent, run_dbt

        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        header, streams, _, _ = socket.recv_fds(connection, _LENGTH.size, _STREAMS)
        request = json.loads(_receive(connection, _LENGTH.unpack(header)[0]))
        for target, received in enumerate(streams):
            os.dup2(received, target)
            os.close(received)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = request["argv"]
        end_with_this_parent()  # the server, which ends with `csat run`
        connection.sendall(_CODE.pack(os.getpid()))
        threading.Thread(target=_end_with_client, args=(connection,), daemon=True).start()
        code = run_dbt()
        sys.stdout.flush()
        sys.stderr.flush()
        connection.sendall(_CODE.pack(code))
    except BaseException:  # noqa: BLE001 - a worker never returns into the server's loop
        traceback.print_exc()
        os._exit(1)
    sys.exit(code)


def _end_with_client(connection: socket.socket) -> None:
    """End this worker if its client goes away (killed) before dbt is done."""
    with contextlib.suppress(OSError):
        while connection.recv(1):
            pass
    os.kill(os.getpid(), signal.SIGTERM)


def run_on_server() -> int | None:
    """Run this process's dbt command (`sys.argv`) on the warm dbt of its parent: dbt's exit code,
    or None when there is no server to take it (then nothing was run)."""
    path = socket_path(os.getppid())
    if not sys.platform.startswith("linux") or not path.exists() or not _private_folder(create=False):
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
        request = {"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ)}
        payload = json.dumps(request).encode()
        socket.send_fds(connection, [_LENGTH.pack(len(payload))], list(range(_STREAMS)))
        connection.sendall(payload)
        (worker,) = _CODE.unpack(_receive(connection, _CODE.size))
    except OSError:
        connection.close()
        return None  # no worker started: the caller runs dbt itself
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _frame: os.kill(worker, number))
    try:
        (code,) = _CODE.unpack(_receive(connection, _CODE.size))
        while connection.recv(1024):  # until the worker has exited (its connection closes with it)
            pass
    except OSError:  # the worker ended without a code: killed
        code = 1
    return code


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
