"""A landing file's checksum, remembered with the file's identity, so that a file that has not changed
since a run read it is not read again.

Ingestion knows a file it loaded before by its sha256 (`raw.load_manifest`). Computing it reads the
whole file, and every run did so for every landing file: 0.3 s of a run at 1M survey responses, 4 s
at 10M (3.4 GB), mostly for files loaded long ago. `raw.file_checksums` keeps, per landing path, the
checksum and the identity of the file that gave it: device, inode, size, modification and
status-change times in nanoseconds, what git's index and rsync's quick check compare. Any write to
a file changes its status-change time, which no program can set back, and a file replaced by
another has another inode, so a file whose identity differs is read again. A file written again in
the instant it is read could keep its times (their granularity is a few milliseconds), so an
identity is recorded only when the file was the same before and after it was read, and its last
change is `SETTLED_SECONDS` old; a file just delivered is recorded by a later run.

Files read from elsewhere (a CRM database's snapshot in a temporary folder) are not remembered.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project.ingestion.files import file_sha256
from dagster_project.ingestion.warehouse import FILE_CHECKSUMS_TABLE, transaction

# How long after its last change a file's identity may be recorded (see the module's docstring).
SETTLED_SECONDS = 2
# Only where the status-change time is that (POSIX): on Windows `st_ctime` is the creation time, which
# a rewrite in place keeps, so there every file is read, as before.
TRUSTS_IDENTITY = os.name == "posix"


def file_identity(stat: os.stat_result) -> str:
    """device:inode:size:mtime_ns:ctime_ns of a file's `os.stat`."""
    return f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"


@dataclass
class LandingChecksums:
    """The checksums recorded for one entity's landing files, and those to record after this run read
    them (`record`)."""

    entity: str
    known: dict[str, tuple[str, str]]  # absolute path -> (identity, sha256)
    new: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, entity: str) -> LandingChecksums:
        query = f"select path, file_identity, file_sha256 from {FILE_CHECKSUMS_TABLE} where entity = ?"
        rows = con.execute(query, [entity])
        return cls(entity, {path: (identity, sha256) for path, identity, sha256 in rows.fetchall()})

    def sha256(self, path: Path) -> str:
        """The file's sha256: the one recorded when the file's identity is the recorded one, else read."""
        if not TRUSTS_IDENTITY:
            return file_sha256(path)
        key = str(Path(path).absolute())
        before = os.stat(path)
        identity = file_identity(before)
        recorded = self.known.get(key)
        if recorded is not None and recorded[0] == identity:
            return recorded[1]
        sha256 = file_sha256(path)
        changed_ns = max(before.st_mtime_ns, before.st_ctime_ns)
        settled = time.time_ns() - changed_ns >= SETTLED_SECONDS * 1_000_000_000
        if settled and file_identity(os.stat(path)) == identity:
            self.new[key] = (identity, sha256)
        return sha256

    def record(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the identities read in this run (nothing when every file was known)."""
        if not self.new:
            return
        paths = list(self.new)
        identities, checksums = ([self.new[p][i] for p in paths] for i in (0, 1))
        with transaction(con):
            con.execute(
                f"delete from {FILE_CHECKSUMS_TABLE} where entity = ? and list_contains(?, path)", [self.entity, paths]
            )
            # one statement for every row (executemany runs one per row)
            con.execute(
                f"insert into {FILE_CHECKSUMS_TABLE} "
                "select ?, unnest(?), unnest(?), unnest(?), cast(current_timestamp as timestamp)",
                [self.entity, paths, identities, checksums],
            )
        self.known.update(self.new)
        self.new = {}
