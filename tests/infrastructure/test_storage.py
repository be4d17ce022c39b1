from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from myco_graph.errors import BackendUnavailable, NotFound, ServiceError
from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.storage import LocalStorage, new_key, storage_for


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def test_stored_bytes_read_back(tmp_path: Path) -> None:
    storage, key = LocalStorage(tmp_path), new_key()

    await storage.put(key, b"some bytes")

    assert await storage.read(key) == b"some bytes"


async def test_reading_a_missing_key_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        await LocalStorage(tmp_path).read(new_key())


async def test_deleted_bytes_are_gone_and_deleting_twice_is_fine(
    tmp_path: Path,
) -> None:
    storage, key = LocalStorage(tmp_path), new_key()
    await storage.put(key, b"some bytes")

    await storage.delete(key)
    await storage.delete(key)

    assert files_under(tmp_path) == []
    with pytest.raises(NotFound):
        await storage.read(key)


def test_keys_are_random_and_never_repeat() -> None:
    keys = {new_key() for _ in range(1_000)}

    assert len(keys) == 1_000
    assert all(len(key) == 40 for key in keys)


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/etc/passwd", "aa/../../x", "", "A" * 40, "photo.jpg"]
)
def test_a_key_not_made_here_is_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ServiceError):
        LocalStorage(tmp_path).path(key)


def test_every_path_stays_inside_the_storage_folder(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)

    path = storage.path(new_key())

    assert path.is_relative_to(tmp_path.resolve())


async def test_stored_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    storage, key = LocalStorage(tmp_path), new_key()

    await storage.put(key, b"some bytes")

    assert stat.S_IMODE(storage.path(key).stat().st_mode) == 0o600


async def test_a_failed_write_is_unavailable_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")

    with pytest.raises(BackendUnavailable):
        await LocalStorage(blocked).put(new_key(), b"some bytes")

    assert files_under(tmp_path) == [blocked]


def test_files_go_under_the_data_dir_unless_a_storage_dir_is_set(
    tmp_path: Path,
) -> None:
    default = Settings(data_dir=tmp_path)
    chosen = Settings(data_dir=tmp_path, storage_dir=tmp_path / "elsewhere")

    assert isinstance(storage := storage_for(default), LocalStorage)
    assert storage.root == (tmp_path / "files").resolve()
    assert chosen.files_dir == tmp_path / "elsewhere"


async def test_keys_before_a_moment_are_listed_and_stale_partials_removed(
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)
    old, recent = new_key(), new_key()
    await storage.put(old, b"old")
    await storage.put(recent, b"recent")
    os.utime(storage.path(old), (1_000, 1_000))
    stale = storage.path(old).with_name(f".{new_key()}.0a1b2c3d.partial")
    stale.write_bytes(b"half")
    os.utime(stale, (1_000, 1_000))
    fresh = storage.path(recent).with_name(f".{new_key()}.0a1b2c3d.partial")
    fresh.write_bytes(b"half")

    listed = [key async for batch in storage.keys_before(2_000) for key in batch]

    assert listed == [old]
    assert not stale.exists() and fresh.exists()


async def test_an_empty_storage_lists_no_keys(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "never-written")

    assert [batch async for batch in storage.keys_before(time.time())] == []
