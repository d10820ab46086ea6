"""The erasure register: which customers were erased, without saying who they were.

One JSON object per line (owner-only file, default `<warehouse>.erasures.jsonl`, setting
CSAT_ERASURE_REGISTER): `kind` (`customer`, or `response` for a survey response of an erased
customer, whose SERVQUAL item rows carry no customer id), `pseudonym` (HMAC-SHA256 of the id under
the key with fingerprint `key`), `erased_at` (UTC) and, for customers erased by `csat forget`, the
rows removed per store (`counts`). Ingestion and `--rebuild` read it and remove matching rows, so a
re-delivery or a rebuild never brings an erased customer back. The file lives outside the warehouse
so it survives a rebuild or a deleted warehouse; keep it with the warehouse's backups.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

KINDS = ("customer", "response")


@dataclass(frozen=True)
class RegisterEntry:
    kind: str
    pseudonym: str
    key: str
    erased_at: str
    counts: dict[str, int] = field(default_factory=dict)


def read_register(path: Path) -> list[RegisterEntry]:
    if not path.exists():
        return []
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                entry = RegisterEntry(**data)
            except (ValueError, TypeError) as error:
                raise ValueError(f"{path}, line {number}: not an erasure register entry ({error})") from None
            if entry.kind not in KINDS:
                raise ValueError(f"{path}, line {number}: unknown kind {entry.kind!r} (expected {', '.join(KINDS)})")
            entries.append(entry)
    return entries


def append_register(path: Path, entries: list[RegisterEntry]) -> None:
    """Append entries (flushed and synced: the register must never lose an erasure)."""
    if not entries:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(asdict(entry), sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def now_utc() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
