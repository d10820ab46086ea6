"""Zip archives in the landing folder: each file in one is a delivery of the entity whose folder
holds the archive.

Survey tools hand out their exports zipped (Qualtrics' and SurveyMonkey's downloads and export APIs),
as do CRMs' scheduled exports. A `.zip` is read where it lies: its files, in name order, load at the
archive's place in the delivery order, each labelled `<archive>/<file in it>` in the load report,
the manifest and the rejects, and read like a file of the landing folder (any format and
compression the folder takes; a file of another type is refused, naming it, and the others load).

A file in an archive is known by the archive's checksum and its name in it (`files.part_id`): an archive
loaded before is recognised from its checksum (which the landing folder's checksum cache keeps)
and the list of its files, without unpacking anything, so a daily run costs what its new archives
cost. The same export delivered later outside its archive is a new delivery: its rows replace the
same keys, as any re-delivery's do.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from dagster_project.ingestion.files import ARCHIVE_SUFFIX, ContractError, file_format, skipped_name


def is_archive(path: Path) -> bool:
    return path.suffix.lower() == ARCHIVE_SUFFIX


def archive_members(path: Path, label: str) -> list[str]:
    """The files of a zip archive, in name order, without folders and what an archiver adds (macOS'
    `__MACOSX/` and `._` files, hidden files). Raises ContractError naming the archive when it is not
    a readable zip or holds no file."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ContractError(f"{label}: not a readable zip archive ({error}); deliver it again") from None
    members = sorted(
        n for n in names if not any(skipped_name(part) and part not in (".", "..") for part in PurePosixPath(n).parts)
    )
    if not members:
        raise ContractError(f"{label}: the zip archive holds no file to load")
    return members


def extract_member(path: Path, member: str, label: str, workdir: Path) -> Path:
    """A copy of one file of the archive in the run's work folder, under a name of its own that keeps
    the file's suffixes (its format and compression); the name in the archive is never a path here.
    Raises ContractError naming the file when it cannot be unpacked (a corrupt or encrypted entry)."""
    file_format(PurePosixPath(member), label)  # a file of another type is refused before it is unpacked
    suffix = "".join(PurePosixPath(member).suffixes[-2:])
    target = Path(tempfile.mkstemp(dir=workdir, suffix=suffix)[1])
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, NotImplementedError) as error:
        raise ContractError(f"{label}: cannot be unpacked from its zip archive ({error}); deliver it again") from None
    return target
