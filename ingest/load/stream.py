"""One CSV file turned into the canonical records MySQL is sent, block by block.

For each block: the strict scan (ingest.load.scan) finds the records, the encoding is checked,
pyarrow's CSV reader splits the well-formed records into fields (and must count exactly as many),
the contract's rules check every value at once (ingest.load.values), and the good records are
re-written in the canonical form of ingest.load.mysql_load. Every bad record goes to quarantine
with its line and reason. The work runs in a thread ahead of MySQL, so the two overlap.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ingest.core.contract import Table
from ingest.core.errors import DataError
from ingest.load.files import FileInfo
from ingest.load.keys import KeyIndex, key_form, key_text
from ingest.load.quarantine import QuarantineFile
from ingest.load.scan import Block, scan_file
from ingest.load.validate import RowValidator, checker_for
from ingest.load.values import ColumnChecker


class StreamError(DataError):
    """The file cannot be streamed as the contract says (the two parsers disagree, too many bad rows)."""


class TooManyBadRows(StreamError):
    """A file has more bad records than `--max-bad-rows` allows; nothing of the load is published."""


@dataclass
class FileStream:
    """The canonical records of one file, and the accounting the loader reconciles with MySQL."""

    info: FileInfo
    table: Table
    quarantine: QuarantineFile
    max_bad_rows: int
    excluded: dict[int, str] = field(default_factory=dict)  # line -> reason, learnt from an earlier pass
    on_bytes: Callable[[int], object] | None = None  # progress callback taking a byte count
    read: int = 0
    sent: int = 0
    keys: KeyIndex | None = None  # the table's keys sent so far (None: the table has no primary key)
    earlier_files: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (first key row, lines) per file
    lines: list[np.ndarray] = field(default_factory=list)  # the line of every record sent, in order

    def __post_init__(self) -> None:
        self.key_base = self.keys.size if self.keys is not None else 0
        dialect = self.table.dialect
        self.checkers = [ColumnChecker(c, dialect.null_tokens) for c in self.info.columns]
        self.reasons = RowValidator(self.info.columns, dialect, [])
        names = [f"c{i}" for i in range(len(self.info.columns))]
        self.names = names
        self.parse_options = pa_csv.ParseOptions(
            delimiter=dialect.delimiter,
            quote_char=dialect.quote,
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=False,
        )
        self.convert_options = pa_csv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            check_utf8=False,  # checked (or transcoded) before parsing
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )

    # -- the stream -----------------------------------------------------------------------
    def chunks(self) -> Iterator[bytes]:
        """Canonical records, prepared in a thread ahead of the consumer."""
        return _ahead(self._prepare(), depth=2)

    def _prepare(self) -> Iterator[bytes]:
        dialect = self.table.dialect
        done = 0
        with self.info.path.open("rb") as handle:
            handle.seek(self.info.data_offset)
            first_line = 2 if dialect.header else 1
            for block in scan_file(handle, dialect.delimiter, dialect.quote, len(self.info.columns), first_line):
                payload = self._block(block)
                if payload:
                    yield payload
                reached = min(block.offset + len(block.data), self.info.size)
                if self.on_bytes is not None:
                    self.on_bytes(reached - done)
                done = reached

    def _block(self, block: Block) -> bytes:
        self.read += len(block.starts) + len(block.bad)
        for bad in block.bad:
            self.quarantine.add(bad.line, bad.reason, bad.raw)
        keep = np.ones(len(block.starts), dtype=bool)
        if self.excluded:
            keep &= self._reject(
                block, np.isin(block.lines, list(self.excluded)), lambda i: self.excluded[int(block.lines[i])]
            )
        keep &= self._check_encoding(block, keep)
        indices = np.flatnonzero(keep)
        payload = b""
        if len(indices):
            text = self._text(block, indices)
            columns = self._parse(text, len(indices), block, indices)
            good, canonical = self._check_values(columns, block, indices)
            if self.keys is not None:
                good &= ~self._duplicates(columns, canonical, good, block, indices)
            indices = indices[good]
            payload = self._canonical(canonical, good, len(indices))
            self.lines.append(block.lines[indices])
        self.check_budget()
        return payload

    # -- steps ------------------------------------------------------------------------------
    def _reject(self, block: Block, mask: np.ndarray, reason: object) -> np.ndarray:
        """Quarantine the records in `mask`; returns the keep-mask."""
        for i in np.flatnonzero(mask):
            self.quarantine.add(int(block.lines[i]), reason(i), block.raw(int(i)))  # type: ignore[operator]
        return ~mask

    def _check_encoding(self, block: Block, keep: np.ndarray) -> np.ndarray:
        encoding = self.table.dialect.encoding
        indices = np.flatnonzero(keep)
        if not len(indices):
            return keep
        try:
            _join(block, indices).decode(encoding)
            return keep
        except UnicodeDecodeError:
            pass
        bad = np.zeros(len(block.starts), dtype=bool)
        reasons: dict[int, str] = {}
        for i in indices:
            raw = block.raw(int(i))
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                line = int(block.lines[i]) + raw.count(b"\n", 0, exc.start)
                column = exc.start - raw.rfind(b"\n", 0, exc.start)
                reasons[int(i)] = f"invalid {encoding} bytes at line {line}, byte {column}"
                bad[i] = True
        return self._reject(block, bad, lambda i: reasons[int(i)])

    def _text(self, block: Block, indices: np.ndarray) -> bytes:
        text = _join(block, indices)
        encoding = self.table.dialect.encoding
        if encoding not in ("utf-8", "ascii"):
            text = text.decode(encoding).encode("utf-8")
        if not text.endswith(b"\n"):
            text += b"\n"
        return text

    def _parse(self, text: bytes, expected: int, block: Block, indices: np.ndarray) -> list[pa.Array]:
        longest = int((block.ends[indices] - block.starts[indices]).max())
        read_options = pa_csv.ReadOptions(
            column_names=self.names, block_size=max(4 << 20, 2 * longest + 1024), use_threads=True
        )
        try:
            table = pa_csv.read_csv(
                io.BytesIO(text),
                read_options=read_options,
                parse_options=self.parse_options,
                convert_options=self.convert_options,
            )
        except pa.ArrowInvalid as exc:
            raise StreamError(
                f"{self.info.path}: pyarrow's CSV reader refused records the strict scan accepted "
                f"(lines {int(block.lines[indices[0]])}-{int(block.lines[indices[-1]])}): {exc}"
            ) from exc
        if table.num_rows != expected:
            raise StreamError(
                f"{self.info.path}: the strict scan found {expected} records in lines "
                f"{int(block.lines[indices[0]])}-{int(block.lines[indices[-1]])}, pyarrow's CSV reader "
                f"{table.num_rows}; nothing of this file is loaded"
            )
        return [table.column(i).combine_chunks() for i in range(table.num_columns)]

    def _check_values(
        self, columns: list[pa.Array], block: Block, indices: np.ndarray
    ) -> tuple[np.ndarray, list[pa.Array]]:
        bad = np.zeros(len(indices), dtype=bool)
        canonical = []
        for checker, values in zip(self.checkers, columns, strict=True):
            column_bad, text = checker(values)
            bad |= column_bad
            canonical.append(text)
        for row in np.flatnonzero(bad):
            fields = [c[int(row)].as_py() for c in columns]
            line = int(block.lines[indices[row]])
            reason = self.reasons.problem(fields, line)
            if reason is None:
                raise StreamError(
                    f"{self.info.path} line {line}: the vectorised checks reject a record the reference "
                    f"validator accepts ({fields!r}); please report this"
                )
            self.quarantine.add(line, reason, block.raw(int(indices[row])))
        return ~bad, canonical

    def _duplicates(
        self, columns: list[pa.Array], canonical: list[pa.Array], good: np.ndarray, block: Block, indices: np.ndarray
    ) -> np.ndarray:
        """Records whose key was sent before (or earlier in this block): quarantined; first wins."""
        assert self.keys is not None
        position = {c.name: i for i, c in enumerate(self.info.columns)}
        positions = [position[name] for name in self.table.primary_key]  # the key's order, not the file's
        rows = np.flatnonzero(good)
        mask = pa.array(good, pa.bool_())
        texts = key_text([key_form(self.info.columns[i], canonical[i].filter(mask)) for i in positions])
        repeated, first = self.keys.duplicates(texts)
        duplicate = np.zeros(len(good), dtype=bool)
        sent = np.concatenate(self.lines) if self.lines and repeated.any() else np.empty(0, np.int64)
        for k in np.flatnonzero(repeated):
            row = int(rows[k])
            fields = [c[row].as_py() for c in columns]
            key = tuple(checker_for(self.info.columns[i].type)(fields[i]) for i in positions)
            earlier = int(first[k])
            in_block = earlier <= -2  # earlier in this block: -2 - its index in the batch
            where = f"line {int(block.lines[indices[rows[-2 - earlier]]])}" if in_block else self.origin(earlier, sent)
            self.quarantine.add(
                int(block.lines[indices[row]]),
                f"duplicate primary key {key!r} (first seen at {where})",
                block.raw(int(indices[row])),
            )
            duplicate[row] = True
        self.keys.add(texts.filter(pa.array(~repeated, pa.bool_())))
        return duplicate

    def origin(self, row: int, sent: np.ndarray) -> str:
        """Where the record behind a key of the index came from (`sent`: this file's lines so far)."""
        if row >= self.key_base:
            return f"line {int(sent[row - self.key_base])}"
        for start, lines in reversed(self.earlier_files):
            if row >= start:
                return f"line {int(lines[row - start])} of an earlier file of this table"
        return "an earlier file of this table"

    def _canonical(self, canonical: list[pa.Array], good: np.ndarray, count: int) -> bytes:
        if not count:
            return b""
        mask = pa.array(good, pa.bool_())
        self.sent += count
        fields = [c.filter(mask) for c in canonical]
        rows = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="NULL")
        rows = pc.binary_join_element_wise(rows, "", "\n")
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset : rows.offset + len(rows) + 1]
        data = rows.buffers()[2]
        return bytes(memoryview(data)[int(offsets[0]) : int(offsets[-1])])

    def check_budget(self) -> None:
        if self.quarantine.count > self.max_bad_rows and self.quarantine.first is not None:
            first = self.quarantine.first
            raise TooManyBadRows(
                f"{self.info.path}: more than --max-bad-rows {self.max_bad_rows} bad row(s). "
                f"First at line {first.line}: {first.reason}. The bad rows so far are in {self.quarantine.path}; "
                "nothing was published and the tables keep their previous contents."
            )


def _join(block: Block, indices: np.ndarray) -> bytes:
    """The bytes of the chosen records, one slice per run of adjacent records."""
    starts, ends = block.starts[indices], block.ends[indices]
    breaks = np.flatnonzero(starts[1:] != ends[:-1]) + 1
    run_starts = np.concatenate(([0], breaks))
    run_ends = np.concatenate((breaks - 1, [len(indices) - 1]))
    data = block.data
    if len(run_starts) == 1:
        return data[int(starts[0]) : int(ends[-1])]
    return b"".join(data[int(starts[a]) : int(ends[b])] for a, b in zip(run_starts, run_ends, strict=True))


def _ahead(items: Iterator[bytes], depth: int) -> Iterator[bytes]:
    """Run a generator in a thread, `depth` items ahead; its exceptions surface in the consumer."""
    slots: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            slots.put(("error", exc))

    worker = threading.Thread(target=produce, name="load-prepare", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.1)
