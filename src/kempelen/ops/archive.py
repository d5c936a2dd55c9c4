"""The backup archive: a tar file (gzip-compressed when named ``.tar.gz``) holding, in this order,

- ``manifest.json``: the format, Kempelen's version, when it was made, the database kind, the migrations
  applied and the row count of every table at the moment of the backup, and checksums of the next two members;
- ``secret_key``: the instance secret. Requesters' API secrets are stored encrypted with a key derived from
  it, so a database restored without its secret cannot verify a single API call;
- the database: ``kempelen.sqlite3`` (a consistent copy of the SQLite file) or ``kempelen.pgdump``
  (``pg_dump --format=custom``);
- ``media/…``: the files workers uploaded (the data directory's ``uploads/``), as they were just after the
  database's moment. They carry no checksums of their own; a restore checks them against the database's
  records of them (every file it names, with its size).

The manifest comes first so that a restore can refuse an unsuitable archive before reading the database.
The archive holds the secret: it is written readable by its owner only, and must be kept like the secret.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .errors import BackupRefused

FORMAT = "kempelen-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SECRET = "secret_key"
MEDIA_PREFIX = "media/"
DATABASE_FILES = {"sqlite": "kempelen.sqlite3", "postgresql": "kempelen.pgdump"}
SUFFIXES = {".tar.gz": "w:gz", ".tgz": "w:gz", ".tar": "w"}
_CHUNK = 1 << 20


@dataclass
class Manifest:
    kempelen_version: str
    created_at: str
    database: str  #: "sqlite" or "postgresql"
    server_version: str
    secret_source: str  #: "file" (the data dir's secret_key) or "environment" (KEMPELEN_SECRET_KEY)
    migrations: list[list[str]]  #: [app, name] of every applied migration
    tables: dict[str, int]  #: rows per table at the moment of the backup
    checksums: dict[str, str] = field(default_factory=dict)  #: member name -> sha256
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def database_file(self) -> str:
        return DATABASE_FILES[self.database]

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw: dict[str, Any] = json.loads(data)
        except ValueError as exc:
            raise BackupRefused(f"the archive's manifest is not JSON: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupRefused("this is not a Kempelen backup (its manifest names no kempelen-backup format)")
        if raw.get("format_version") != FORMAT_VERSION:
            raise BackupRefused(f"this backup has format version {raw.get('format_version')}; this Kempelen reads "
                                f"version {FORMAT_VERSION}: restore it with the version that made it")
        try:
            manifest = cls(**{k: raw[k] for k in cls.__dataclass_fields__})
        except KeyError as exc:
            raise BackupRefused(f"the archive's manifest lacks {exc.args[0]!r}") from exc
        if manifest.database not in DATABASE_FILES:
            raise BackupRefused(f"the archive holds an unknown kind of database: {manifest.database!r}")
        return manifest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tar_mode(path: Path) -> str:
    for suffix, mode in SUFFIXES.items():
        if path.name.endswith(suffix):
            return mode
    raise BackupRefused(f"{path.name}: a backup file's name must end in .tar.gz (compressed) or .tar")


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(time.time())
    return info


@dataclass(frozen=True)
class MediaWritten:
    files: int
    bytes: int


def _add_media(tar: tarfile.TarFile, media_root: Path) -> MediaWritten:
    files = size = 0
    if not media_root.is_dir():
        return MediaWritten(0, 0)
    for path in sorted(media_root.rglob("*")):
        try:
            if not path.is_file() or path.is_symlink():
                continue
            with path.open("rb") as fh:
                length = os.fstat(fh.fileno()).st_size
                tar.addfile(_member(MEDIA_PREFIX + path.relative_to(media_root).as_posix(), length), fh)
        except FileNotFoundError:  # removed since the listing (a worker replaced an upload): not in the database
            continue
        files, size = files + 1, size + length
    return MediaWritten(files, size)


def write_archive(path: Path, manifest: Manifest, *, database: Path, secret: str, media_root: Path) -> MediaWritten:
    """Write the archive to ``path`` (through a temporary file beside it, so no half-written backup is left)."""
    secret_bytes = secret.encode()
    manifest.checksums = {manifest.database_file: sha256_of(database),
                          SECRET: hashlib.sha256(secret_bytes).hexdigest()}
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        mode = tar_mode(path)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode=mode) as tar:  # type: ignore[call-overload]
            body = manifest.to_json()
            tar.addfile(_member(MANIFEST, len(body)), io.BytesIO(body))
            tar.addfile(_member(SECRET, len(secret_bytes)), io.BytesIO(secret_bytes))
            with database.open("rb") as fh:
                tar.addfile(_member(manifest.database_file, database.stat().st_size), fh)
            media = _add_media(tar, media_root)
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return media


def media_path(name: str) -> PurePosixPath | None:
    """The path under the uploads directory of a ``media/…`` member; None for any other name, and for one that
    would reach outside the directory."""
    if not name.startswith(MEDIA_PREFIX):
        return None
    relative = PurePosixPath(name[len(MEDIA_PREFIX):])
    if relative.is_absolute() or not relative.parts or any(part in {"", ".", ".."} for part in relative.parts):
        return None
    return relative


class ArchiveReader:
    """Reads an archive's members in order: the manifest first, then the others (``members``)."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self._tar = tar
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile():
            raise BackupRefused(f"the archive does not start with {MANIFEST}: it is not a Kempelen backup")
        self.manifest = Manifest.from_json(self._read(first))

    def _read(self, member: tarfile.TarInfo) -> bytes:
        fh = self._tar.extractfile(member)
        assert fh is not None
        return fh.read()

    def members(self) -> Iterator[tuple[str, IO[bytes]]]:
        """The remaining members (name, stream): the secret and the database (checked against the manifest's
        checksums by ``secret_from`` and ``copy_database``) and uploaded files (``media/…``, see ``media_path``)."""
        while (member := self._tar.next()) is not None:  # iterating the TarFile would start over
            known = member.name in self.manifest.checksums or media_path(member.name) is not None
            if not known or not member.isfile():
                raise BackupRefused(f"the archive holds {member.name!r}, which a Kempelen backup does not")
            fh = self._tar.extractfile(member)
            assert fh is not None
            yield member.name, fh

    def secret_from(self, stream: IO[bytes]) -> str:
        data = stream.read()
        self.verify(SECRET, hashlib.sha256(data).hexdigest())
        return data.decode().strip()

    def copy_database(self, stream: IO[bytes], target: Path) -> None:
        digest = hashlib.sha256()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        self.verify(self.manifest.database_file, digest.hexdigest())

    def verify(self, name: str, sha256: str) -> None:
        if self.manifest.checksums.get(name) != sha256:
            raise BackupRefused(f"{name} in the archive does not match its checksum: the backup is damaged")


@contextmanager
def open_archive(path: Path) -> Iterator[ArchiveReader]:
    if not path.is_file():
        raise BackupRefused(f"{path} does not exist or is not a file")
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by the with block below
    except (tarfile.TarError, OSError) as exc:
        raise BackupRefused(f"{path} is not a readable backup archive: {exc}") from exc
    with tar:
        try:
            yield ArchiveReader(tar)
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise BackupRefused(f"{path} is damaged: {exc}") from exc
