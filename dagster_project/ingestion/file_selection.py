"""Which files of a landing folder an entity reads: its mapping's `files` patterns.

A deployment that receives several entities' exports in one place (an SFTP drop a CRM writes every
object to, one zip holding `Accounts.csv`, `Cases.csv` and more) keeps them in one entity's folder;
the others read it (`files_of`), and each mapping names its own files by pattern. A pattern matches a
file's name, without its folders, whatever the case; a file of a zip archive by its name in the
archive, unless the archive's own name matches (then all its files are the entity's).

Nothing is left unseen: a file or a file of an archive in the folder that no entity reading it
takes is a landing warning of the folder's own entity, naming each reader's patterns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dagster_project.ingestion.archives import archive_members, is_archive
from dagster_project.ingestion.files import ContractError, name_matches, part_label
from dagster_project.ingestion.mapping import EntityMapping


@dataclass(frozen=True)
class Reader:
    """An entity reading a landing folder, and the patterns of the names of its files there."""

    entity: str
    patterns: tuple[str, ...] = ()  # (): every file

    @classmethod
    def of(cls, entity: str, mapping: EntityMapping | None) -> Reader:
        return cls(entity, mapping.files if mapping else ())

    def takes(self, name: str) -> bool:
        """Whether a landing file is the entity's (a zip archive's files are asked one by one)."""
        return not self.patterns or name_matches(name, self.patterns)

    def takes_member(self, archive: Path, member: str) -> bool:
        """Whether a file of a zip archive is the entity's: all are, when the archive's name matches."""
        return self.takes(archive.name) or self.takes(PurePosixPath(member).name)

    def __str__(self) -> str:
        return f"{self.entity}: {', '.join(self.patterns) or 'every file'}"


def folder_of(entity: str, mapping: EntityMapping | None) -> str:
    """The entity whose landing folder holds an entity's files: its own, or its mapping's `files_of`."""
    return (mapping.files_of if mapping else None) or entity


def readers(folder: str, mappings: Mapping[str, EntityMapping | None]) -> list[Reader]:
    """The entities reading `folder`'s files: the folder's own, unless its mapping reads another's,
    and those whose mapping reads it (`files_of`). `mappings`: every entity's of the deployment."""
    mine = {} if folder_of(folder, mappings.get(folder)) != folder else {folder: mappings.get(folder)}
    others = {e: m for e, m in mappings.items() if e != folder and folder_of(e, m) == folder}
    return [Reader.of(entity, mapping) for entity, mapping in {**mine, **others}.items()]


def not_taken(files: list[Path], folder_readers: list[Reader], landing_dir: Path) -> list[str]:
    """The folder's files and files of its archives that no reader takes, each a landing warning."""
    if all(not r.patterns for r in folder_readers):
        return []
    shown = "; ".join(map(str, folder_readers))
    # A reader without patterns takes every file, the others' too (each then fails the contract's
    # columns, naming the file): say so once, with the fix.
    warnings = [
        f"{r.entity} reads every file of this folder, those of the other readers' `files` too ({shown}): "
        f"give the mapping of {r.entity} its own `files`"
        for r in folder_readers
        if not r.patterns
    ]
    for path in files:
        label = path.relative_to(landing_dir).as_posix()
        if any(r.takes(path.name) for r in folder_readers):
            continue
        if not is_archive(path):
            warnings.append(f"{label}: not read: its name matches no mapping's `files` ({shown})")
            continue
        try:
            members = archive_members(path, label)
        except ContractError:
            continue  # each reader reports the archive it cannot read
        warnings += [
            f"{part_label(label, member)}: not read: its name matches no mapping's `files` ({shown})"
            for member in members
            if not any(r.takes_member(path, member) for r in folder_readers)
        ]
    return warnings
