"""The folder store: whole writes only, keys that cannot leave the folder, half writes swept at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.storage import Blob, open_store


async def test_blobs_are_written_read_renamed_listed_and_deleted(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/blobs")
    await store.put("a.png", b"first")
    await store.put("a.png", b"second")
    assert await store.get("a.png") == b"second"
    assert await store.stat("a.png") == Blob("a.png", 6)
    assert await store.rename("a.png", "b.png")
    assert not await store.rename("a.png", "c.png")
    assert await store.list() == [Blob("b.png", 6)]
    await store.delete("b.png")
    await store.delete("b.png")
    assert (await store.get("b.png"), await store.stat("b.png"), await store.list()) == (None, None, [])
    assert list((tmp_path / "blobs" / ".tmp").iterdir()) == []


@pytest.mark.parametrize("key", ["../escape", "a/b", ".hidden", "..", "", "a\x00b"])
async def test_a_key_that_is_not_a_plain_name_is_refused(tmp_path: Path, key: str) -> None:
    store = open_store(str(tmp_path))
    with pytest.raises(ValueError, match="invalid blob key"):
        await store.put(key, b"x")
    assert not (tmp_path.parent / "escape").exists()


async def test_half_writes_of_a_dead_process_are_swept_and_never_listed(tmp_path: Path) -> None:
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "half").write_bytes(b"half an image")
    store = open_store(str(tmp_path))
    assert await store.list() == []
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        open_store("s3://bucket/prefix")
