"""Finding delivered files and fingerprinting them (checksum, format, text encoding)."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dagster_project.contract import Entity

FORMATS_BY_SUFFIX = {
    ".csv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_CHUNK = 8 * 1024 * 1024
# GB18030 is a superset of GBK and GB2312, so one decoder reads all Chinese exports.
FALLBACK_ENCODING = "gb18030"


class ContractError(ValueError):
    """A delivered file that cannot be loaded at all (wrong columns, unknown format, empty)."""


@dataclass(frozen=True)
class DeliveredFile:
    path: Path
    source_label: str  # what the manifest and rejects record as the file's name
    file_format: str
    sha256: str
    size: int
    encoding: str | None  # text files only: utf-8 or gb18030


def file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = FORMATS_BY_SUFFIX.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        known = ", ".join(sorted(FORMATS_BY_SUFFIX))
        raise ContractError(f"{path}: unknown file type; expected one of {known} (optionally .gz)")
    return fmt


def entity_dir(landing_dir: Path, entity: Entity) -> Path:
    return landing_dir / entity.source / entity.name


def discover_files(landing_dir: Path, entity: Entity) -> list[Path]:
    """Files delivered for an entity, in delivery order (by name: name files so they sort by time).

    Hidden and underscore-prefixed files are skipped: uploads in progress conventionally use them.
    """
    folder = entity_dir(landing_dir, entity)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith((".", "_")) and not _in_hidden_dir(p, folder)
    )


def _in_hidden_dir(path: Path, root: Path) -> bool:
    return any(part.startswith((".", "_")) for part in path.relative_to(root).parts[:-1])


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def fingerprint(path: Path, source_label: str | None = None) -> DeliveredFile:
    """One pass over the file: sha256 of its bytes and, for text formats, whether it is UTF-8."""
    fmt = file_format(path)
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        while chunk := raw.read(_CHUNK):
            digest.update(chunk)
    encoding = None
    if fmt in ("csv", "jsonl"):
        encoding = "utf-8" if _is_utf8(path) else FALLBACK_ENCODING
    return DeliveredFile(
        path=path,
        source_label=source_label or str(path),
        file_format=fmt,
        sha256=digest.hexdigest(),
        size=path.stat().st_size,
        encoding=encoding,
    )


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with _open(path) as f:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def utf8_copy(delivered: DeliveredFile, workdir: Path) -> Path:
    """A UTF-8 copy of a text file in another encoding (DuckDB reads UTF-8 only), streamed."""
    target = Path(tempfile.mkstemp(dir=workdir, suffix=f".{delivered.file_format}")[1])
    with _open(delivered.path) as src, open(target, "wb") as dst:
        reader = codecs.getreader(delivered.encoding or FALLBACK_ENCODING)(src, errors="strict")
        writer = codecs.getwriter("utf-8")(dst)
        shutil.copyfileobj(reader, writer, _CHUNK)
    return target
