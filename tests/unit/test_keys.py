"""The duplicate-key index: exact (no hash collision can make two keys equal), first occurrence wins."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.load.keys import KeyIndex, hash64, key_text


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(st.tuples(st.integers(-3, 3), st.text(max_size=3)), max_size=30), max_size=6))
def test_duplicates_match_a_plain_set(batches: list[list[tuple[int, str]]]) -> None:
    index = KeyIndex()
    seen: set[tuple[str, str]] = set()
    for batch in batches:
        texts = key_text(
            [pa.array([str(a) for a, _ in batch], pa.string()), pa.array([b for _, b in batch], pa.string())]
        )
        repeated, _first = index.duplicates(texts)
        expected = []
        for a, b in batch:
            key = (str(a), b)
            expected.append(key in seen)
            seen.add(key)
        assert repeated.tolist() == expected
        index.add(texts.filter(pa.array([not r for r in repeated], pa.bool_())))
    assert index.size == len(seen)


def test_key_text_keeps_composite_keys_apart() -> None:
    left = key_text([pa.array(["a-b"]), pa.array(["c"])])
    right = key_text([pa.array(["a"]), pa.array(["b-c"])])
    assert left.to_pylist() != right.to_pylist()


def test_hash_of_equal_strings_is_equal_whatever_their_neighbours() -> None:
    hashes = hash64(pa.array(["", "x", "xy", "x", "", "é𝄞"]))
    assert hashes[1] == hashes[3] and hashes[0] == hashes[4] and len(set(hashes.tolist())) == 4
