"""`csat-dbt`: runs dbt as a child that ends with its parent.

Dagster starts dbt as a subprocess. If the Dagster process is killed outright (kill -9, OOM killer),
an ordinary child lives on as an orphan and keeps the warehouse's DuckDB lock, so the next run fails.
This wrapper asks the kernel (Linux `prctl(PR_SET_PDEATHSIG)`) to send the child SIGTERM when its
parent dies, then runs dbt: on the warm dbt of the `csat run` that started it, which has dbt
imported already (dagster_project/dbt_server.py), else in its own process. Elsewhere it just runs
dbt.

dbt runs in this process, not through `execv` of dbt's own script, so that its garbage collector
can be tuned. dbt allocates much and frees little (a manifest, a Jinja context per node): with
Python's default thresholds it ran about 1,500 collections in the 1M daily increment, 1.0 s of the
GIL its threads wait for, 0.6-0.7 s of it full collections over the whole manifest; with a young
generation of 10,000 allocations, about 100, 0.45 s, and no full one (the dbt step 19.7 -> 18.0-18.8
s). And a process holding dbt's manifest spent 0.3-0.4 s after dbt's last line in the collections
of the interpreter's teardown, which the pipeline waited for: `gc.freeze()` once dbt is done leaves
those objects out of them (they are still freed as the modules are cleared).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def end_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies. False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def end_with_this_parent(parent: int | None = None) -> None:
    """Have this process ended when `parent` (default: ours) dies."""
    parent = os.getppid() if parent is None else parent
    # An ignored or blocked signal stays so (across fork and exec): a parent that ignores or blocks
    # SIGTERM (some hosts and libraries do) would make dbt deaf to the very signal that is to end it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    end_with_parent()
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def tune_gc() -> None:
    """dbt's collector thresholds (module docstring); Python's default: 700, 10, 10."""
    gc.set_threshold(10_000, 20, 20)


def run_dbt() -> int:
    """dbt's command line (`sys.argv[1:]`) in this process: dbt's exit code."""
    from dbt.cli.main import cli

    try:
        cli(prog_name="dbt")  # click exits (SystemExit) with dbt's return code
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    finally:
        gc.freeze()
    return 0


def main() -> None:
    """dbt's command line (`sys.argv[1:]`), ended with its parent; exits with dbt's code. Run on the
    warm dbt of `csat run` when it has one (dagster_project/dbt_server.py), else here."""
    from dagster_project.dbt_server import run_on_server

    end_with_this_parent()
    code = run_on_server()
    if code is None:
        tune_gc()
        code = run_dbt()
    sys.exit(code)


if __name__ == "__main__":
    main()
