"""`csat-dbt`: runs dbt as a child that ends with its parent.

Dagster starts dbt as a subprocess. If the Dagster process is killed outright (kill -9, OOM killer),
an ordinary child lives on as an orphan and keeps the warehouse's DuckDB lock, so the next run fails.
This wrapper asks the kernel (Linux `prctl(PR_SET_PDEATHSIG)`) to send the child SIGTERM when its
parent dies, then replaces itself with dbt (`execv`; the request survives it). Elsewhere it just
runs dbt.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def end_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies. False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def exec_with_parent(argv: Sequence[str], parent: int | None = None) -> None:
    """Replace this process by `argv`, which is then ended when `parent` (default: ours) dies."""
    parent = os.getppid() if parent is None else parent
    # An ignored signal stays ignored across exec: a parent that ignores SIGTERM (some hosts and
    # libraries do) would make dbt deaf to the very signal that is to end it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    end_with_parent()
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)
    os.execv(argv[0], list(argv))


def real_dbt() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def main() -> None:
    exec_with_parent([real_dbt(), *sys.argv[1:]])


if __name__ == "__main__":
    main()
