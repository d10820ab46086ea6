"""Finding delivered files and fingerprinting them (checksum, format, text encoding)."""

from __future__ import annotations

import codecs
import fnmatch
import gzip
import hashlib
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from dagster_project import settings
from dagster_project.contract import ENTITIES, Entity

FORMATS_BY_SUFFIX = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",  # tab-separated
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",  # or "json": one array of objects, or a document holding one (`fingerprint`)
    ".parquet": "parquet",
    ".pq": "parquet",
    # Workbooks: read from a CSV copy of one sheet (ingestion/workbooks.py).
    ".xlsx": "xlsx",
    ".xls": "xls",  # Excel 97-2003, still what older CRMs and ERPs export
    ".ods": "ods",  # OpenDocument (LibreOffice)
}
WORKBOOK_FORMATS = ("xlsx", "xls", "ods")
# Formats DuckDB reads with read_csv: a workbook's CSV copy too.
READ_AS_CSV = ("csv", *WORKBOOK_FORMATS)
ARCHIVE_SUFFIX = ".zip"  # a landing file holding files (ingestion/archives.py)
# The label of a part of a landing file (a file of a zip archive, a sheet of a workbook read by sheet):
# the landing file's, then the part's name in it (`part_label`).
_CONTAINER_SUFFIXES = (ARCHIVE_SUFFIX, *(s for s, f in FORMATS_BY_SUFFIX.items() if f in WORKBOOK_FORMATS))
_PART_LABEL = re.compile(rf"^(.*?(?:{'|'.join(map(re.escape, _CONTAINER_SUFFIXES))}))/(.+)$", re.IGNORECASE)
# JSON formats: one object per line (JSON Lines), or one array of objects (an API's export, maybe
# inside a document: the mapping's `records`).
JSON_FORMATS = ("jsonl", "json")
_CHUNK = 8 * 1024 * 1024
# GB18030 is a superset of GBK and GB2312, so one decoder reads all Chinese exports.
FALLBACK_ENCODING = "gb18030"


class ContractError(ValueError):
    """A delivered file that cannot be loaded at all (wrong columns, unknown format, empty)."""


@dataclass(frozen=True)
class FileLayout:
    """How an entity's exports are laid out, as its mapping declares (the defaults: a plain export).
    `fingerprint` keeps, per delivered file, what applies to its format."""

    delimiter: str | None = None  # a CSV's field separator; None: a comma, or a tab for .tsv
    sheet: str | None = None  # a workbook's sheet; None: the first
    sheets: tuple[str, ...] = ()  # or the patterns of its sheets to read, each a delivery (the loader's)
    header_row: int = 1  # CSV and workbooks: the line or sheet row with the column names
    header_rows: int = 1  # ... and how many rows from there name them together
    skip_rows_after_header: int = 0  # rows under the header that are not records
    skip_footer_rows: int = 0  # non-blank rows at the end that are not records
    records: tuple[str, ...] = ()  # a .json document's members leading to its array of records


@dataclass(frozen=True)
class DeliveredFile:
    path: Path
    source_label: str  # what the manifest and rejects record as the file's name
    file_format: str
    sha256: str
    size: int
    encoding: str | None  # text files only: utf-8, gb18030, utf-16/32 (byte-order mark) or the declared one
    encoding_certain: bool = True  # False: GB18030 guessed, confirmed while transcoding (utf8_copy)
    encoding_declared: bool = False  # from CSAT_FILE_ENCODINGS
    delimiter: str = ","  # CSV only: the field separator (a mapping's `delimiter`; tab for .tsv)
    sheet: str | None = None  # a workbook's sheet to read (a mapping's `sheet`); None: the first
    header_row: int = 1  # CSV and workbooks: the line or sheet row with the column names (a mapping's)
    header_rows: int = 1  # CSV and workbooks: rows from header_row on that together name the columns
    skip_rows_after_header: int = 0  # CSV and workbooks: rows under the header that are not records
    skip_footer_rows: int = 0  # CSV and workbooks: non-blank rows at the end that are not records
    records: tuple[str, ...] = ()  # a `json` document's members leading to its array (a mapping's)

    @property
    def lines_above_header(self) -> int:
        """The lines a CSV reader skips before the header: a report's title, its filters. A workbook's
        CSV copy starts at its header row (ingestion/workbooks.py), as does the copy of a CSV whose
        header rows are joined (ingestion/header_rows.py), so none."""
        return self.header_row - 1 if self.file_format == "csv" and self.header_rows == 1 else 0

    @property
    def records_below_header(self) -> int:
        """The records the staged view leaves out under the header (what a survey tool puts there to
        describe its columns): of a CSV, and of a workbook's CSV copy, which keeps its non-blank rows."""
        return self.skip_rows_after_header if self.file_format in READ_AS_CSV else 0

    @property
    def records_at_end(self) -> int:
        """The records the staged view leaves out at the end (a report's footer), likewise."""
        return self.skip_footer_rows if self.file_format in READ_AS_CSV else 0


def file_format(path: PurePath, label: str | None = None) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = FORMATS_BY_SUFFIX.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        known = ", ".join(sorted(FORMATS_BY_SUFFIX))
        raise ContractError(
            f"{label or path}: unknown file type; expected one of {known} (optionally .gz), or a .zip of such files"
        )
    return fmt


def name_matches(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether a name (a file's, a sheet's) matches one of a mapping's patterns: `*`, `?` and `[...]`
    as in file names, whatever the case (exports are named by hand and by tools alike)."""
    return any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns)


def entity_dir(landing_dir: Path, entity: Entity) -> Path:
    return landing_dir / entity.source / entity.name


@dataclass
class EntityScan:
    """What the landing folder holds for one entity: its files in delivery order, and warnings about
    what was not taken (unknown folders and files, symbolic links, special files)."""

    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def skipped_name(name: str) -> bool:
    # Hidden files and names starting with `_` are uploads in progress by convention; `~$` starts
    # the lock file Office writes beside a workbook someone has open.
    return name.startswith((".", "_", "~$"))


def delivery_order(files: list[Path], folder: Path) -> list[Path]:
    """Delivery order: by file name, whatever the sub-folder (so `archive/2025-12.csv` comes before
    `2026-01.csv`), then by the path relative to the entity folder to break ties deterministically."""
    return sorted(files, key=lambda p: (p.name, p.relative_to(folder).as_posix()))


def scan_entity(
    landing_dir: Path, entity: Entity, *, follow_symlinks: bool | None = None, files_of: Entity | None = None
) -> EntityScan:
    """Files delivered for an entity (`<landing>/<source>/<entity>/`, sub-folders included) in delivery
    order, and what the landing folder holds that no entity takes. `files_of`: the entity whose
    folder holds this one's files (its mapping's `files_of`); files in its own folder are then named
    in the warnings, not read.

    Symbolic links are not followed unless CSAT_LANDING_FOLLOW_SYMLINKS is set, and never to a target
    outside the landing folder; a link that is not followed is reported by its own name only (its
    target is never opened). FIFOs, sockets and devices are reported and never opened.
    """
    if follow_symlinks is None:
        follow_symlinks = settings.follow_landing_symlinks()
    landing_dir = Path(landing_dir)
    scan = EntityScan()
    root = Path(os.path.realpath(landing_dir))
    scan.warnings += _unknown_entries(landing_dir, entity)
    if files_of is not None:
        scan.warnings += _not_read(landing_dir, entity, files_of)
    read = files_of or entity
    folder = entity_dir(landing_dir, read)
    for level in (landing_dir / read.source, folder):
        if level.is_symlink() and not _follow(level, root, follow_symlinks, landing_dir, scan.warnings):
            return scan
    if not folder.is_dir():
        return scan
    found: list[Path] = []
    _walk(folder, root, landing_dir, follow_symlinks, found, scan.warnings, visited={os.path.realpath(folder)})
    scan.files = delivery_order(found, folder)
    return scan


def _not_read(landing_dir: Path, entity: Entity, files_of: Entity) -> list[str]:
    """The files in an entity's own folder when its mapping reads another entity's files: a copy left
    from before, or a file meant for the other folder."""
    own = entity_dir(landing_dir, entity)
    if not own.is_dir() or own.is_symlink():
        return []
    found = [Path(top) / name for top, _, names in os.walk(own) for name in names if not skipped_name(name)]
    return [
        f"{_relative(path, landing_dir)}: not read: the mapping of {entity.name} reads the files of "
        f"{files_of.source}/{files_of.name} (`files_of`)"
        for path in delivery_order(found, own)
    ]


def _follow(path: Path, root: Path, follow: bool, landing_dir: Path, warnings: list[str]) -> bool:
    shown = _relative(path, landing_dir)
    if not follow:
        warnings.append(f"{shown}: symbolic link, not followed (CSAT_LANDING_FOLLOW_SYMLINKS is off)")
        return False
    target = Path(os.path.realpath(path))
    if target != root and root not in target.parents:
        warnings.append(f"{shown}: symbolic link to a target outside the landing folder, not followed")
        return False
    if not target.exists():
        warnings.append(f"{shown}: broken symbolic link, ignored")
        return False
    return True


def _walk(
    folder: Path,
    root: Path,
    landing_dir: Path,
    follow: bool,
    found: list[Path],
    warnings: list[str],
    visited: set[str],
) -> None:
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if skipped_name(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_symlink() and not _follow(path, root, follow, landing_dir, warnings):
                continue
            if entry.is_dir():
                real = os.path.realpath(path)
                if any(Path(v).is_relative_to(real) for v in visited):  # a link back up the tree
                    warnings.append(f"{_relative(path, landing_dir)}: link to a folder above it (a loop), ignored")
                    continue
                _walk(path, root, landing_dir, follow, found, warnings, visited | {real})
            elif entry.is_file():
                found.append(path)
            else:
                warnings.append(f"{_relative(path, landing_dir)}: not a regular file (FIFO, socket or device), ignored")


def _unknown_entries(landing_dir: Path, entity: Entity) -> list[str]:
    """Folders and files at the landing root and in the entity's source folder that no entity reads."""
    warnings = []
    sources = sorted({e.source for e in ENTITIES})
    if landing_dir.is_dir():
        for entry in sorted(os.listdir(landing_dir)):
            if skipped_name(entry) or (entry in sources and (landing_dir / entry).is_dir()):
                continue
            warnings.append(
                f"{entry}: unknown entry in the landing folder, ignored (source folders: {', '.join(sources)})"
            )
    source_dir = landing_dir / entity.source
    if source_dir.is_dir() and not source_dir.is_symlink():
        names = [e.name for e in ENTITIES if e.source == entity.source]
        for entry in sorted(os.listdir(source_dir)):
            if skipped_name(entry) or (entry in names and (source_dir / entry).is_dir()):
                continue
            warnings.append(
                f"{entity.source}/{entry}: unknown entry in the {entity.source} source folder, ignored "
                f"(entity folders: {', '.join(names)})"
            )
    return warnings


def _relative(path: Path, landing_dir: Path) -> str:
    try:
        return path.relative_to(landing_dir).as_posix()
    except ValueError:
        return str(path)


def discover_files(landing_dir: Path, entity: Entity) -> list[Path]:
    """Files delivered for an entity, in delivery order (see `scan_entity`)."""
    return scan_entity(landing_dir, entity).files


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes: what identifies a delivery in raw.load_manifest, whatever its name."""
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        while chunk := raw.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def part_label(container_label: str, name: str) -> str:
    """What names a part of a landing file in the load report, the manifest and the rejects."""
    return f"{container_label}/{name}"


def landing_file_of(label: str) -> str:
    """The landing file a delivery's label names: the label itself, or the file holding the part."""
    part = _PART_LABEL.match(label)
    return part.group(1) if part else label


def short_label(label: str) -> str:
    """A delivery's label without its folders: the file's name, or `<file>/<part>` for a part."""
    part = _PART_LABEL.match(label)
    return f"{PurePath(part.group(1)).name}/{part.group(2)}" if part else PurePath(label).name


def part_id(container_sha256: str, name: str) -> str:
    """What identifies a part of a landing file (a file in a zip archive, a sheet of a workbook) in
    `raw.load_manifest.file_sha256`: a hash of the landing file's SHA-256 and the part's name in it,
    known without reading the part."""
    return hashlib.sha256(f"{container_sha256}/{name}".encode()).hexdigest()


def fingerprint(
    path: Path,
    source_label: str | None,
    *,
    sha256: str,
    encoding: str | None = None,
    layout: FileLayout = FileLayout(),
) -> DeliveredFile:
    """A delivered file, with its checksum (`file_sha256`), after a check that a compressed file
    decompresses completely and, for text formats, its encoding (see `detect_encoding`; `encoding` is
    the entity's declared encoding for text that is not UTF-8). Raises ContractError naming the file
    when it cannot be read; a file in a guessed encoding is confirmed when it is transcoded
    (`utf8_copy`). Both checks read the whole file: ingestion calls this for files not loaded before
    only, which their checksum tells. How to read it travels with it: what of the entity's `layout`
    applies to its format (a CSV's `delimiter`, else a comma, or a tab for .tsv; a workbook's
    `sheet`; the rows of both), and whether a .json file is JSON Lines or one array (format `json`),
    which a document holds at the layout's `records` when it declares them."""
    fmt = file_format(path, source_label)
    label = source_label or str(path)
    try:
        certain = True
        if fmt in ("csv", "jsonl"):
            detected, certain = detect_encoding(path, label, declared=encoding)
        else:
            detected = None
            if path.suffix.lower() == ".gz":
                with _open(path) as f:
                    while f.read(_CHUNK):
                        pass
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ContractError(
            f"{label}: not a valid gzip file (truncated or corrupt: {error}); deliver it again"
        ) from None
    if fmt == "jsonl" and path.name.lower().removesuffix(".gz").endswith(".json"):
        if layout.records or _is_json_array(path, detected):
            fmt = "json"
    rows = layout if fmt in READ_AS_CSV else FileLayout()  # header and skipped rows: CSV and workbooks
    return DeliveredFile(
        path=path,
        source_label=label,
        file_format=fmt,
        sha256=sha256,
        size=path.stat().st_size,
        encoding=detected,
        encoding_certain=certain,
        encoding_declared=encoding is not None and detected == encoding,
        delimiter=_delimiter(fmt, path, layout.delimiter),
        sheet=layout.sheet,
        header_row=rows.header_row,
        header_rows=rows.header_rows,
        skip_rows_after_header=rows.skip_rows_after_header,
        skip_footer_rows=rows.skip_footer_rows,
        records=layout.records if fmt == "json" else (),
    )


def json_document_hint(label: str) -> str:
    """For a .json file read as JSON Lines that did not match: an API's page read as lines gives one
    object with its wrapper's members, or (indented) no object at all. Say how to declare it."""
    if not label.lower().removesuffix(".gz").endswith(".json"):
        return ""
    return (
        " If the file is one JSON document holding its records in a member (an API's page such as "
        '{"tickets": [...], "next_page": ...}), name that member as `records` in the entity\'s mapping file.'
    )


def _is_json_array(path: Path, encoding: str | None) -> bool:
    """Whether a .json file is one array (its first character `[`) rather than JSON Lines."""
    with _open(path) as f:
        head = f.read(4096)
    text = head.decode(encoding or "utf-8", errors="ignore")
    return text.lstrip("\ufeff \t\r\n").startswith("[")


def _delimiter(fmt: str, path: Path, declared: str | None) -> str:
    if fmt != "csv":  # a workbook's CSV copy is written with commas
        return ","
    return declared or ("\t" if ".tsv" in [s.lower() for s in path.suffixes] else ",")


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Read as GB18030, Latin-1 or Windows-1252 text gives mostly rare ideographs (an accented letter
# followed by an ASCII letter is a valid GBK/4 pair), while Chinese text uses mostly the 6,763
# common ideographs of GB2312. Above this share of rare ideographs the file is refused as mojibake.
MAX_RARE_IDEOGRAPH_SHARE = 0.5
_NOT_IDEOGRAPH = re.compile("[^\u3400-\u4dbf\u4e00-\u9fff]+")
_ASCII_BYTES = bytes(range(128))


def detect_encoding(path: Path, label: str, *, declared: str | None = None) -> tuple[str, bool]:
    """The encoding of a text file and whether it is certain: a UTF-16/32 byte-order mark; else
    UTF-8 when the whole file decodes as UTF-8; else the declared encoding; else GB18030 (a superset
    of GBK and GB2312), which is a guess that `utf8_copy` confirms (the text must look Chinese) while
    it transcodes. A file with NUL bytes and no byte-order mark is refused (probably UTF-16)."""
    with _open(path) as f:
        head = f.read(_CHUNK)
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, True
    if b"\x00" in head:
        if declared is None:
            raise ContractError(
                f"{label}: contains NUL bytes, so it is probably UTF-16 or UTF-32 without a byte-order mark; "
                "save it as UTF-8 or declare its encoding in CSAT_FILE_ENCODINGS (e.g. customers=utf-16-le)"
            )
        return declared, True
    if _is_utf8(path):
        return "utf-8", True
    return (declared, True) if declared is not None else (FALLBACK_ENCODING, False)


def _is_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8. A compressed file is read to its end either way, so
    a truncated one is found here (EOFError), before anything is loaded."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid = True
    with _open(path) as f:
        while chunk := f.read(_CHUNK):
            if valid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
                    if path.suffix.lower() != ".gz":
                        return False
    if valid:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    return valid


def utf8_copy(delivered: DeliveredFile, workdir: Path) -> Path:
    """A UTF-8 copy of a text file in another encoding (DuckDB reads UTF-8 only), streamed.

    Raises ContractError when the file does not decode, or when a guessed GB18030 does not look
    Chinese: more than MAX_RARE_IDEOGRAPH_SHARE of its ideographs outside GB2312's common ones."""
    encoding = delivered.encoding or FALLBACK_ENCODING
    how = "declared in CSAT_FILE_ENCODINGS" if delivered.encoding_declared else "it is not UTF-8"
    target = Path(tempfile.mkstemp(dir=workdir, suffix=f".{delivered.file_format}")[1])
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = ideographs = rare = 0
    with _open(delivered.path) as src, open(target, "wb") as dst:
        while True:
            chunk = src.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                raise ContractError(
                    f"{delivered.source_label}: cannot be read as {encoding} ({how}): invalid byte "
                    f"0x{error.object[error.start]:02x} at byte {offset + error.start}. "
                    "Save it as UTF-8 or declare its encoding in CSAT_FILE_ENCODINGS (e.g. customers=latin-1)"
                ) from None
            encoded = text.encode("utf-8")
            dst.write(encoded)
            if not delivered.encoding_certain:
                # Only the non-ASCII characters can be ideographs: the regex runs over them alone
                # (a CRM export is mostly ASCII; over the whole text it took 0.43 s of a 35 MB
                # file, over its non-ASCII characters 0.05 s). Removing whole ASCII bytes from
                # UTF-8 leaves whole characters.
                ideo = _NOT_IDEOGRAPH.sub("", encoded.translate(None, _ASCII_BYTES).decode("utf-8"))
                ideographs += len(ideo)
                rare += len(ideo) - len(ideo.encode("gb2312", errors="ignore")) // 2
            if not chunk:
                break
            offset += len(chunk)
    if rare and rare > MAX_RARE_IDEOGRAPH_SHARE * ideographs:
        raise ContractError(
            f"{delivered.source_label}: is not UTF-8; read as GB18030/GBK, {rare} of its {ideographs} Chinese "
            "characters would be rare ones, which is what Latin-1 or Windows-1252 text read as GB18030 looks "
            "like. Save it as UTF-8 or declare its encoding in CSAT_FILE_ENCODINGS (e.g. customers=latin-1)"
        )
    return target
