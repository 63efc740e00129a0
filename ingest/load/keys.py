"""Duplicate primary keys found before MySQL sees them: first occurrence wins, across the files of a table.

Each record's key is its canonical key text (the values MySQL is sent, each prefixed with its
length, so no two different keys share a text). A 64-bit hash of it, computed on whole columns
with numpy, goes into a sorted index; a hash seen before marks a candidate, which is then
compared exactly with the earlier key text. So the check costs a few vectorised passes per block
and about 24 bytes per key, and a duplicate is named with the line of its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.core.contract import Column

_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def key_form(column: Column, canonical: pa.Array) -> pa.Array:
    """The canonical text as the key MySQL compares: a DECIMAL without the zeros its scale pads
    (`1.50` and `1.5` are one key), a CHAR without trailing spaces (MySQL strips them)."""
    if column.type.base == "DECIMAL":
        trimmed = pc.replace_substring_regex(canonical, r"^([+-]?[0-9]*)\.([0-9]*?)0*$", r"\1.\2")
        trimmed = pc.replace_substring_regex(trimmed, r"\.$", "")
        return pc.replace_substring_regex(trimmed, r"^-?0*$", "0")
    if column.type.base == "CHAR":
        return pc.replace_substring_regex(canonical, r' +"$', '"')
    return canonical


def key_text(columns: list[pa.Array]) -> pa.Array:
    """One exact text per key: `<length>:<value>` per column, joined."""
    parts = []
    for column in columns:
        text = column.cast(pa.string())
        parts += [pc.utf8_length(text).cast(pa.string()), pa.scalar(":"), text]
    return pc.binary_join_element_wise(*parts, "").cast(pa.large_string()) if len(columns) > 1 else parts[2]


def hash64(texts: pa.Array) -> np.ndarray:
    """A 64-bit polynomial hash of each string, computed on the array's buffers."""
    texts = texts.cast(pa.large_string())
    count = len(texts)
    if count == 0:
        return np.empty(0, np.uint64)
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset : texts.offset + count + 1]
    data_buffer = texts.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    total = int(offsets[-1] - offsets[0])
    hashes = lengths.astype(np.uint64) * _MIX
    if total:
        chars = data[offsets[0] : offsets[-1]].astype(np.uint64) + np.uint64(1)
        position = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1] - offsets[0], lengths)
        longest = int(lengths.max())
        powers = np.cumprod(np.full(longest, _PRIME, dtype=np.uint64), dtype=np.uint64)
        with np.errstate(over="ignore"):
            weighted = chars * powers[position]
            starts = (offsets[:-1] - offsets[0])[lengths > 0]
            hashes[lengths > 0] += np.add.reduceat(weighted, starts)
    with np.errstate(over="ignore"):
        hashes ^= hashes >> np.uint64(31)
        hashes *= _MIX
    return hashes


@dataclass
class KeyIndex:
    """The keys of every record sent so far for one table, in the order they were sent."""

    hashes: list[np.ndarray] = field(default_factory=list)  # sorted runs
    rows: list[np.ndarray] = field(default_factory=list)  # the global row number of each hash, per run
    texts: list[pa.Array] = field(default_factory=list)  # key texts, one array per batch added
    batch_starts: list[int] = field(default_factory=list)  # global row number of each batch's first key
    size: int = 0

    def duplicates(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """For a batch of candidate keys (in order): which repeat an earlier key (of the index, or
        earlier in the batch), and the global row of that first occurrence (-1 if it is in the
        batch itself: the batch's own first row with that key, as an index into the batch)."""
        count = len(texts)
        hashes = hash64(texts)
        duplicate = np.zeros(count, dtype=bool)
        first = np.full(count, -1, dtype=np.int64)
        values = texts.to_numpy(zero_copy_only=False) if count else np.empty(0, object)
        for run_hashes, run_rows in zip(self.hashes, self.rows, strict=True):
            low = np.searchsorted(run_hashes, hashes, "left")
            high = np.searchsorted(run_hashes, hashes, "right")
            for i in np.flatnonzero(high > low):
                for j in range(low[i], high[i]):
                    row = int(run_rows[j])
                    if self._text(row) == values[i]:
                        duplicate[i], first[i] = True, row
                        break
        order = np.argsort(hashes, kind="stable")
        same = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
        seen_in_batch: dict[str, int] = {}
        if len(same):
            candidates = np.unique(np.concatenate((order[same], order[same + 1])))
            for row in sorted(int(c) for c in candidates):
                if duplicate[row]:
                    continue
                earlier = seen_in_batch.setdefault(values[row], row)
                if earlier != row:
                    duplicate[row], first[row] = True, -2 - earlier  # -2-k: row k of this batch
        return duplicate, first

    def add(self, texts: pa.Array) -> None:
        """Keys of records now sent (none of them a duplicate)."""
        count = len(texts)
        if not count:
            return
        hashes = hash64(texts)
        rows = np.arange(self.size, self.size + count, dtype=np.int64)
        order = np.argsort(hashes, kind="stable")
        self.texts.append(texts)
        self.batch_starts.append(self.size)
        self.size += count
        run_hashes, run_rows = hashes[order], rows[order]
        # Merge with smaller-or-equal runs first, so there are O(log n) runs, each sorted.
        while self.hashes and len(self.hashes[-1]) <= len(run_hashes):
            previous_hashes, previous_rows = self.hashes.pop(), self.rows.pop()
            merged_hashes = np.concatenate((previous_hashes, run_hashes))
            merged_rows = np.concatenate((previous_rows, run_rows))
            merged = np.argsort(merged_hashes, kind="stable")
            run_hashes, run_rows = merged_hashes[merged], merged_rows[merged]
        self.hashes.append(run_hashes)
        self.rows.append(run_rows)

    def snapshot(self) -> tuple[list[np.ndarray], list[np.ndarray], list[pa.Array], list[int], int]:
        return list(self.hashes), list(self.rows), list(self.texts), list(self.batch_starts), self.size

    def restore(self, state: tuple[list[np.ndarray], list[np.ndarray], list[pa.Array], list[int], int]) -> None:
        """Forget the keys added since `snapshot` (a file streamed again)."""
        self.hashes, self.rows, self.texts, self.batch_starts, self.size = (
            list(state[0]),
            list(state[1]),
            list(state[2]),
            list(state[3]),
            state[4],
        )

    def _text(self, row: int) -> str:
        batch = int(np.searchsorted(self.batch_starts, row, "right")) - 1
        return str(self.texts[batch][row - self.batch_starts[batch]].as_py())
