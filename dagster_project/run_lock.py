"""One run at a time per warehouse, and owner-only files for the working warehouse.

DuckDB allows one writer per file, so two runs on one warehouse would fail step by step on its lock.
A run instead takes `<warehouse>.lock` (an exclusive `flock`) before it touches anything; a second run
stops at once with "another run is in progress (pid N, since T)". The kernel releases a `flock` when
its holder dies, so a lock left by a killed run (kill -9) is taken over by the next run, which says so.
Child processes never inherit the lock (Python opens files close-on-exec).

The lock is per process and re-entrant: `csat run` takes it around the whole run (a rebuild
included) and the `warehouse` resource takes it again for each Dagster run, so a run started from
the Dagster UI and one started from the command line exclude each other too.

The working warehouse holds personal data in clear (raw tables, rejects, snapshots), so its folder
is made owner-only (0700) when the pipeline creates it or owns it, and the warehouse, its write-ahead
log, `.previous`, the marts file and the lock file are made 0600, whatever the umask.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


class RunInProgressError(RuntimeError):
    """Another live process holds the run lock of this warehouse."""


_held: dict[Path, tuple[int, int]] = {}  # lock file -> (file descriptor, depth) in this process
_guard = threading.Lock()


def lock_path(warehouse: str | Path) -> Path:
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(f"{warehouse.name}.lock")


def warehouse_files(warehouse: str | Path) -> list[Path]:
    """Files next to the warehouse that hold its data (personal data included)."""
    warehouse = Path(warehouse).resolve()
    names = [warehouse.name, f"{warehouse.name}.wal", f"{warehouse.name}.previous", f"{warehouse.name}.previous.wal"]
    names += [f"{warehouse.name}.marts", f"{warehouse.name}.marts.wal"]  # the marts file (settings.marts_path)
    # the run log of `csat run` (cli.run_log_path) and the previous run's: Dagster events can quote rows
    names += [f"{warehouse.name}.log", f"{warehouse.name}.log.previous"]
    return [warehouse.with_name(n) for n in names] + [lock_path(warehouse)]


def secure_warehouse_dir(warehouse: str | Path) -> Path:
    """Create the warehouse's folder owner-only, or tighten an existing one that is the warehouse's
    own (this user's, holding nothing but the warehouse's files). A folder shared with other things
    (the home folder, /tmp) is left alone: the files' own modes protect them there. Returns the folder."""
    warehouse = Path(warehouse).resolve()
    folder = warehouse.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=PRIVATE_DIR_MODE, exist_ok=True)
    info = folder.stat()
    own = {p.name for p in warehouse_files(warehouse)} | {f"{warehouse.name}.tmp"}  # .tmp: DuckDB's spill folder
    if info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX and set(os.listdir(folder)) <= own:
        os.chmod(folder, PRIVATE_DIR_MODE)
    return folder


def secure_warehouse_files(warehouse: str | Path) -> None:
    """Make the warehouse, its WAL, `.previous` and the lock file 0600 (those that exist)."""
    for path in warehouse_files(warehouse):
        try:
            os.chmod(path, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            pass


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one owned by another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(warehouse: str | Path, *, purpose: str = "run") -> str | None:
    """Take the run lock of `warehouse` for this process (re-entrant).

    Returns a note when a stale lock of a dead process was taken over, else None. Raises
    RunInProgressError naming the holder when another live process has it.
    """
    path = lock_path(warehouse)
    with _guard:
        if path in _held:
            fd, depth = _held[path]
            _held[path] = (fd, depth + 1)
            return None
        secure_warehouse_dir(warehouse)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _holder(path)
            raise RunInProgressError(
                f"another run is in progress on {Path(warehouse).resolve()} "
                f"(pid {holder.get('pid', '?')}, since {holder.get('since', '?')}); "
                "wait for it to finish or stop it, then run again"
            ) from None
        previous = _holder(path)
        note = None
        if previous.get("pid") and previous.get("pid") != os.getpid() and not pid_alive(int(previous["pid"])):
            note = (
                f"took over the lock of an earlier run that ended without releasing it "
                f"(pid {previous['pid']}, since {previous.get('since', '?')})"
            )
        os.fchmod(fd, PRIVATE_FILE_MODE)
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "purpose": purpose}
        os.pwrite(fd, json.dumps(record).encode(), 0)
        _held[path] = (fd, 1)
        secure_warehouse_files(warehouse)
        return note


def release(warehouse: str | Path) -> None:
    """Give back one level of this process's lock; the last one unlocks and empties the file."""
    path = lock_path(warehouse)
    with _guard:
        if path not in _held:
            return
        fd, depth = _held[path]
        if depth > 1:
            _held[path] = (fd, depth - 1)
            return
        del _held[path]
        secure_warehouse_files(warehouse)
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


@contextmanager
def run_lock(warehouse: str | Path, *, purpose: str = "run") -> Iterator[str | None]:
    """`with run_lock(path) as note:` holds the lock for the block (see `acquire`)."""
    note = acquire(warehouse, purpose=purpose)
    try:
        yield note
    finally:
        release(warehouse)
