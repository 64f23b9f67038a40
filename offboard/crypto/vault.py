"""The default key vault: key-encryption keys in a local key file (the KeyVault of offboard.interfaces).

The file is JSON, mode 0600, made on the first wrap (never by building the services, nor by
an unwrap: a missing file then means lost keys, and is refused). It holds every
key-encryption key ever made, per region, each with an id that names it uniquely; a data key
is wrapped with AES-256-GCM under its region's newest key, the associated data binding
region, key id and the caller's associated data. Changes (a region's first key, `new_key`)
are written to a temporary file and renamed over the old one under an advisory lock, so
processes sharing the file never lose each other's keys; each call re-reads the file when it
changed on disk (another process rotated).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import stat
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import URL

from offboard.domain import validation as v
from offboard.domain.errors import OffboardError, error
from offboard.interfaces import KeyVaultError, WrappedKey

KEY_FILE_ENV = "OFFBOARD_KEY_FILE"
FORMAT = "offboard-keys/1"
NONCE = 12


def key_file_path(database: URL, environ: Mapping[str, str]) -> Path:
    """OFFBOARD_KEY_FILE, or else `<database file>.keys` beside a SQLite database, or else
    ./offboard.keys (PostgreSQL). Resolved now, so a later change of directory does not move it."""
    configured = environ.get(KEY_FILE_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    if database.get_backend_name() == "sqlite" and database.database not in (None, "", ":memory:"):
        return Path(f"{database.database}.keys").resolve()
    return Path("offboard.keys").resolve()


@dataclass(frozen=True)
class _Kek:
    id: str
    region: str
    version: int
    key: bytes


class LocalKeyVault:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._keys: dict[str, _Kek] = {}
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) of the file read

    def wrap(self, region: str, data_key: bytes, associated_data: bytes) -> WrappedKey:
        kek = self._newest(v.region(region)) or self._add(region, first=True)
        return _seal(kek, data_key, associated_data)

    def unwrap(self, wrapped: WrappedKey, associated_data: bytes) -> bytes:
        return _open(self._kek(wrapped), wrapped, associated_data)

    def new_key(self, region: str) -> str:
        return self._add(v.region(region), first=False).id

    def rotate(self, wrapped: WrappedKey, associated_data: bytes) -> WrappedKey:
        data_key = self.unwrap(wrapped, associated_data)
        return _seal(self._newest(wrapped.region) or self._kek(wrapped), data_key, associated_data)

    def _newest(self, region: str) -> _Kek | None:
        keys = [k for k in self._read(missing_ok=True).values() if k.region == region]
        return max(keys, key=lambda k: k.version, default=None)

    def _kek(self, wrapped: WrappedKey) -> _Kek:
        kek = self._read(missing_ok=False).get(wrapped.key_id)
        if kek is None:
            raise error(
                KeyVaultError,
                "key_unknown",
                "Key {key_id} is not in key file {path}: the data was wrapped with another key file; restore that one from its backup.",
                key_id=wrapped.key_id,
                path=str(self.path),
            )
        return kek

    def _read(self, *, missing_ok: bool) -> dict[str, _Kek]:
        """The keys on disk, read again only when the file changed since the last read."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if not missing_ok:
                raise error(
                    KeyVaultError,
                    "key_file_missing",
                    "Key file {path} does not exist, but data was wrapped with its keys: restore it from its backup (OFFBOARD_KEY_FILE names its path).",
                    path=str(self.path),
                ) from None
            return {}
        except OSError as exc:
            raise self._unreadable(exc) from None
        if not stat.S_ISREG(st.st_mode):
            raise self._invalid("not a regular file")
        if st.st_mode & 0o077:
            mode = oct(stat.S_IMODE(st.st_mode))[2:]
            raise error(KeyVaultError, "key_file_mode", "Key file {path} can be read by other users (mode {mode}); run `chmod 600 {path}`.", path=str(self.path), mode=mode)
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if seen != self._seen:
                try:
                    text = self.path.read_bytes()
                except OSError as exc:
                    raise self._unreadable(exc) from None
                self._keys, self._seen = self._parse(text), seen
            return dict(self._keys)

    def _add(self, region: str, *, first: bool) -> _Kek:
        """A new newest key for `region`, written to disk; with `first`, only if it has none yet
        (another process may have made it since we looked)."""
        with self._file_lock():
            keys = self._read(missing_ok=True)
            versions = [k.version for k in keys.values() if k.region == region]
            if first and versions:
                return next(k for k in keys.values() if k.region == region and k.version == max(versions))
            version = max(versions, default=0) + 1
            kek = _Kek(f"{region}.v{version}.{secrets.token_hex(4)}", region, version, AESGCM.generate_key(bit_length=256))
            self._write([*keys.values(), kek])
            return kek

    def _write(self, keys: list[_Kek]) -> None:
        document = {
            "format": FORMAT,
            "keys": [{"id": k.id, "region": k.region, "version": k.version, "key": base64.b64encode(k.key).decode("ascii")} for k in keys],
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            temporary.unlink(missing_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o600)  # whatever the umask
                fh.write(json.dumps(document, indent=1).encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, self.path)
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)  # the rename itself survives a power cut: a key lost is data lost
            finally:
                os.close(folder)
        except OSError as exc:
            raise self._unwritable(exc) from None

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        try:
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self._unwritable(exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _parse(self, text: bytes) -> dict[str, _Kek]:
        try:
            document = json.loads(text)
            if document.get("format") != FORMAT:
                raise ValueError(f"format is not {FORMAT}")
            keys = {}
            for entry in document["keys"]:
                kek = _Kek(str(entry["id"]), v.region(entry["region"]), int(entry["version"]), base64.b64decode(entry["key"], validate=True))
                if len(kek.key) != 32:
                    raise ValueError(f"key {kek.id} is not 256 bits")
                keys[kek.id] = kek
            return keys
        except (ValueError, KeyError, TypeError, AttributeError, OffboardError) as exc:  # OffboardError: an unknown region
            raise self._invalid(str(exc) or type(exc).__name__) from None

    def _invalid(self, reason: str) -> OffboardError:
        return error(KeyVaultError, "key_file_invalid", "Key file {path} is not an offboard key file ({reason}); restore it from its backup.", path=str(self.path), reason=reason)

    def _unreadable(self, exc: OSError) -> OffboardError:
        reason = exc.strerror or str(exc)
        return error(KeyVaultError, "key_file_unreadable", "Key file {path} cannot be read ({reason}); check its owner and permissions.", path=str(self.path), reason=reason)

    def _unwritable(self, exc: OSError) -> OffboardError:
        reason = exc.strerror or str(exc)
        return error(KeyVaultError, "key_file_unwritable", "Key file {path} cannot be written ({reason}); check that its folder exists and is writable.", path=str(self.path), reason=reason)


def _aad(region: str, key_id: str, associated_data: bytes) -> bytes:
    return b"offboard-wrap/1\x00" + region.encode("ascii") + b"\x00" + key_id.encode("ascii") + b"\x00" + associated_data


def _seal(kek: _Kek, data_key: bytes, associated_data: bytes) -> WrappedKey:
    if len(data_key) != 32:
        raise ValueError("a data key is 32 bytes (AES-256)")
    nonce = secrets.token_bytes(NONCE)
    return WrappedKey(kek.region, kek.id, nonce + AESGCM(kek.key).encrypt(nonce, data_key, _aad(kek.region, kek.id, associated_data)))


def _open(kek: _Kek, wrapped: WrappedKey, associated_data: bytes) -> bytes:
    try:
        return AESGCM(kek.key).decrypt(wrapped.blob[:NONCE], wrapped.blob[NONCE:], _aad(wrapped.region, wrapped.key_id, associated_data))
    except (InvalidTag, ValueError):
        raise error(
            KeyVaultError,
            "key_unwrap_failed",
            "A data key of region {region} does not unwrap with key {key_id}: the key file holds another key under that id, or the record it protects was changed.",
            region=wrapped.region,
            key_id=wrapped.key_id,
        ) from None
