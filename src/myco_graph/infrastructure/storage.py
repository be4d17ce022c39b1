"""Where the bytes of uploaded files live: a small interface and a local disk.

Keys are made here, at random, and never derived from a file's name: a key
names nothing about its content, and a path built from it cannot leave the
storage folder. Errors of the file system are translated here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from myco_graph.errors import BackendUnavailable, NotFound, ServiceError
from myco_graph.infrastructure.config import Settings

KEY = re.compile(r"[0-9a-f]{40}")
# How many keys a listing hands over at once.
BATCH = 500


def new_key() -> str:
    """A fresh random key (160 bits) for bytes about to be stored."""
    return secrets.token_hex(20)


class Storage(Protocol):
    """Stores, reads and deletes bytes under keys made by :func:`new_key`."""

    async def put(self, key: str, data: bytes) -> None: ...

    async def read(self, key: str) -> bytes:
        """The bytes under ``key``; NotFound when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the bytes under ``key``; a missing key is not an error."""
        ...

    def keys_before(self, moment: float) -> AsyncIterator[list[str]]:
        """The keys whose bytes were stored before ``moment`` (Unix time), in batches.

        What interrupted writes left behind before that moment, under no key,
        is removed on the way.
        """
        ...


class LocalStorage:
    """Files in one folder on the local disk, two levels deep."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        """The file of ``key``, which is checked to stay inside the folder."""
        if KEY.fullmatch(key) is None:
            raise ServiceError("a storage key was not made by new_key")
        # A first level of 256 folders keeps any one folder small.
        path = (self.root / key[:2] / key).resolve()
        if not path.is_relative_to(self.root):
            raise ServiceError("a storage key points outside the storage folder")
        return path

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self.path(key), data)

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read, self.path(key))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._remove, self.path(key))

    async def keys_before(self, moment: float) -> AsyncIterator[list[str]]:
        # One folder of the first level at a time: a listing never holds
        # more than a 256th of the storage.
        for folder in await asyncio.to_thread(self._folders):
            keys = await asyncio.to_thread(self._scan, folder, moment)
            for start in range(0, len(keys), BATCH):
                yield keys[start : start + BATCH]

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        # Written aside, then renamed: a reader never sees half a file, and a
        # crash leaves a temporary file rather than a short one under the key.
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise BackendUnavailable("file storage could not write") from exc

    def _folders(self) -> list[Path]:
        try:
            return sorted(path for path in self.root.iterdir() if path.is_dir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise BackendUnavailable("file storage could not be listed") from exc

    @staticmethod
    def _scan(folder: Path, moment: float) -> list[str]:
        keys = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    # Another process may remove an entry meanwhile: skipped.
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat().st_mtime >= moment:
                            continue
                        if KEY.fullmatch(entry.name):
                            keys.append(entry.name)
                        elif entry.name.endswith(".partial"):
                            os.unlink(entry.path)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise BackendUnavailable("file storage could not be listed") from exc
        return keys

    @staticmethod
    def _read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound("No such file.") from None
        except OSError as exc:
            raise BackendUnavailable("file storage could not read") from exc

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise BackendUnavailable("file storage could not delete") from exc


def storage_for(settings: Settings) -> Storage:
    """The storage backend the settings name (only the local disk so far)."""
    return LocalStorage(settings.files_dir)
