"""ReadCache: a copy read across a forget is not kept; age, size and misses are bounded."""

from __future__ import annotations

import pytest

from conveyor.store.read_cache import ACCESS, CATALOG, ReadCache


def test_a_copy_is_kept_until_its_topic_is_forgotten() -> None:
    cache = ReadCache()
    cache.put(ACCESS, "k", "v", cache.generation(ACCESS))
    cache.put(CATALOG, "a", "schema", cache.generation(CATALOG))
    assert cache.get(ACCESS, "k") == (True, "v")
    cache.forget(ACCESS)
    assert cache.get(ACCESS, "k") == (False, None)
    assert cache.get(CATALOG, "a") == (True, "schema")  # another topic is not touched


def test_a_read_that_a_forget_overtook_is_not_kept() -> None:
    cache = ReadCache()
    before = cache.generation(ACCESS)  # a read starts ...
    cache.forget(ACCESS)  # ... a write commits meanwhile ...
    cache.put(ACCESS, "k", "old", before)  # ... and the read ends with what it saw
    assert cache.get(ACCESS, "k") == (False, None)


def test_nothing_found_is_never_kept() -> None:
    cache = ReadCache()
    cache.put(ACCESS, "k", None, cache.generation(ACCESS))
    assert cache.get(ACCESS, "k") == (False, None)


def test_a_topic_not_cached_on_this_backend_is_always_read() -> None:
    cache = ReadCache(topics=(CATALOG,))
    cache.put(ACCESS, "k", "v", cache.generation(ACCESS))
    assert cache.get(ACCESS, "k") == (False, None)


def test_copies_age_out_and_the_oldest_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("conveyor.store.read_cache.time.monotonic", lambda: clock[0])
    cache = ReadCache(max_age_s=10, max_entries=2)
    for key in ("a", "b", "c"):
        cache.put(ACCESS, key, key.upper(), cache.generation(ACCESS))
    assert cache.get(ACCESS, "a") == (False, None)
    assert cache.get(ACCESS, "c") == (True, "C")
    clock[0] += 11
    assert cache.get(ACCESS, "c") == (False, None)
