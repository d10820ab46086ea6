"""The deliveries a batch of an entity's files holds, in delivery order, and which of them to read.

A landing file is a delivery; so is each file of a zip archive (ingestion/archives.py) and each sheet
of a workbook whose mapping names several (`sheet` patterns). A delivery loaded before, or met
earlier in the run, is known by its checksum, or by its container's and its name in it
(`files.part_id`), and skipped without being read; the others are fingerprinted (format, encoding,
layout) for the readers. A delivery that cannot be read is recorded with why, in its place.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dagster_project.ingestion.archives import archive_members, extract_member, is_archive
from dagster_project.ingestion.file_selection import Reader
from dagster_project.ingestion.files import (
    WORKBOOK_FORMATS,
    ContractError,
    DeliveredFile,
    FileLayout,
    file_format,
    fingerprint,
    part_id,
    part_label,
)
from dagster_project.ingestion.readers import readable_path
from dagster_project.ingestion.workbooks import matching_sheets

# What makes a delivery unreadable: its own error, recorded in its place (the others still load).
UNREADABLE = (ContractError, UnicodeDecodeError, OSError, EOFError)


@dataclasses.dataclass
class DeliveryList:
    loaded: set[str]  # checksums (or part ids) in the entity's manifest
    layout: FileLayout  # the entity's mapping's
    encoding: str | None  # the entity's declared text encoding
    workdir: Path
    raise_errors: bool  # raise a delivery's error instead of recording it (loading one file)
    reader: Reader = Reader("")  # which files of an archive are the entity's (its mapping's `files`)
    # Each delivery to read, labelled, with the path DuckDB reads it from; or why it cannot be read.
    to_read: list[tuple[str, DeliveredFile, Path] | str] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (label, checksum)
    _seen: set[str] = dataclasses.field(default_factory=set)

    def add(self, path: Path, label: str | None, sha256: str) -> None:
        """A file of the batch, with its checksum; `label` names it when it is not its path."""
        shown = label or str(path)
        try:
            if is_archive(path):
                for member in archive_members(path, shown):
                    if self.reader.takes_member(path, member):
                        self._add_member(path, sha256, member, part_label(shown, member))
            elif self._by_sheet(path, shown) or not self._known(sha256, shown):
                self._take(path, shown, sha256, label)
        except UNREADABLE as error:
            self.unreadable(error, shown)

    def unreadable(self, error: Exception, shown: str) -> None:
        """A delivery that cannot be read: its error in its place, the others still load (raised
        when loading one file)."""
        if self.raise_errors:
            raise error
        self.to_read.append(describe(error, shown))

    def _add_member(self, archive: Path, archive_sha256: str, member: str, shown: str) -> None:
        """A file of a zip archive, known before it is unpacked."""
        try:
            if not self._known(member_sha := part_id(archive_sha256, member), shown):
                self._take(extract_member(archive, member, shown, self.workdir), shown, member_sha, shown)
        except UNREADABLE as error:
            self.unreadable(error, shown)

    def _known(self, sha256: str, shown: str) -> bool:
        """Loaded before, or met earlier in this run: skipped."""
        if sha256 in self._seen or sha256 in self.loaded:
            self.skipped.append((shown, sha256))
            return True
        self._seen.add(sha256)
        return False

    def _by_sheet(self, path: Path, shown: str) -> bool:
        """A workbook whose mapping names several sheets: a delivery per sheet, each known by itself."""
        return bool(self.layout.sheets) and file_format(path, shown) in WORKBOOK_FORMATS

    def _take(self, path: Path, shown: str, sha256: str, label: str | None) -> None:
        if not self._by_sheet(path, shown):
            self._read(path, shown, sha256, label, self.layout)
            return
        for sheet in matching_sheets(path, shown, self.layout.sheets):
            inside = part_label(shown, sheet)
            if not self._known(sheet_sha := part_id(sha256, sheet), inside):
                self._read(path, inside, sheet_sha, inside, dataclasses.replace(self.layout, sheet=sheet))

    def _read(self, path: Path, shown: str, sha256: str, label: str | None, layout: FileLayout) -> None:
        delivered = fingerprint(path, label, sha256=sha256, encoding=self.encoding, layout=layout)
        self.to_read.append((shown, delivered, readable_path(delivered, self.workdir)))


def describe(error: Exception, label: str) -> str:
    return str(error) if isinstance(error, ContractError) else f"{label}: could not be loaded: {error}"
