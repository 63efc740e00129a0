"""Where each record of a CSV file begins and ends: a strict RFC 4180 scan the project controls.

The scan is vectorised with numpy. Between two quote characters the quoting state only flips, so
a line feed ends a record exactly when an even number of quotes (counted from the record's start)
comes before it. That holds while every quote stands where RFC 4180 allows it: an opening quote
at the start of a field, a closing quote before a delimiter, a line end, the end of the file or a
second quote (a doubled quote). The scan checks exactly that for every quote, and a carriage
return outside quotes must be part of a CRLF line end.

Where a quote breaks the rule (`ab"c`, `"abc"x`) or a stray carriage return appears, a small
exact state machine reads that one record to find where it really ends and why it is malformed;
the vectorised scan then resumes after it. Records are thus never merged, whatever the file holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

LF, CR = 10, 13
BLOCK_SIZE = 32 << 20  # bytes read per block; a block always ends on a record boundary


@dataclass
class BadRecord:
    line: int  # where the record starts (1-based line number in the file)
    raw: bytes  # its exact bytes, line end included
    reason: str


@dataclass
class Block:
    """The complete records of one stretch of the file."""

    data: bytes  # the stretch's bytes; it starts at a record start
    offset: int  # where `data` starts in the file
    starts: np.ndarray  # offsets in `data` of the well-formed records
    ends: np.ndarray  # offsets just past each such record (its line end included)
    lines: np.ndarray  # the line each such record starts on
    bad: list[BadRecord] = field(default_factory=list)  # structurally malformed records

    def raw(self, index: int) -> bytes:
        return self.data[int(self.starts[index]) : int(self.ends[index])]


def scan_file(
    handle: BinaryIO, delimiter: str, quote: str, columns: int, first_line: int, block_size: int = BLOCK_SIZE
) -> Iterator[Block]:
    """The records of an open file, read from its current position (which is a record start)."""
    scanner = _Scanner(ord(delimiter), ord(quote), columns)
    carry = b""
    line = first_line
    offset = handle.tell()
    while True:
        chunk = handle.read(block_size)
        eof = not chunk
        data = carry + chunk
        if not data:
            return
        if not eof:
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no line end yet: one very long record, read on
                carry = data
                continue
            data, rest = data[:cut], data[cut:]
        else:
            rest = b""
        block, consumed = scanner.scan(data, line, offset, eof)
        if block is not None:
            yield block
        line += data.count(b"\n", 0, consumed)
        offset += consumed
        carry = data[consumed:] + rest
        if eof:
            return


class _Scanner:
    def __init__(self, delimiter: int, quote: int, columns: int) -> None:
        self.delimiter = delimiter
        self.quote = quote
        self.columns = columns

    def scan(self, data: bytes, first_line: int, offset: int, eof: bool) -> tuple[Block | None, int]:
        """The records of `data` and how many bytes they cover (the rest belongs to the next block)."""
        a = np.frombuffer(data, dtype=np.uint8)
        n = len(a)
        quotes = np.flatnonzero(a == self.quote)
        line_feeds = np.flatnonzero(a == LF)
        delimiters = np.flatnonzero(a == self.delimiter)
        violations = self._violations(a, quotes, eof)
        # For each of the two parities a record can start at: line ends and delimiters outside quotes.
        lf_parity = np.searchsorted(quotes, line_feeds) & 1
        delim_parity = np.searchsorted(quotes, delimiters) & 1
        record_ends = [line_feeds[lf_parity == m] + 1 for m in (0, 1)]
        field_breaks = [delimiters[delim_parity == m] for m in (0, 1)]

        starts: list[np.ndarray] = []
        ends: list[np.ndarray] = []
        fields: list[np.ndarray] = []
        bad: list[tuple[int, int, str]] = []  # (start, end, reason)
        pos, mode, consumed = 0, 0, 0
        while pos < n:
            found = np.searchsorted(violations[mode], pos)
            violation = int(violations[mode][found]) if found < len(violations[mode]) else None
            limit = violation if violation is not None else n
            bounds = record_ends[mode][np.searchsorted(record_ends[mode], pos, "right") :]
            bounds = bounds[: np.searchsorted(bounds, limit, "right")]
            clean_starts = np.concatenate(([pos], bounds[:-1])) if len(bounds) else np.empty(0, np.int64)
            if len(bounds):
                starts.append(clean_starts)
                ends.append(bounds)
                fields.append(self._field_counts(field_breaks[mode], clean_starts, bounds))
                pos = int(bounds[-1])
            if violation is None:
                if eof and pos < n:  # a last record without a line end
                    if (len(quotes) - np.searchsorted(quotes, pos)) % 2:  # a quote that never closes
                        end, reason = exact_record(data, pos, self.delimiter, self.quote, eof)
                        bad.append((pos, end or n, reason))
                        pos = end or n
                        mode = int(np.searchsorted(quotes, pos) & 1)
                        continue  # the lines after the bad record's first one are read again
                    last = np.array([pos, n])
                    starts.append(last[:1])
                    ends.append(last[1:])
                    fields.append(self._field_counts(field_breaks[mode], last[:1], last[1:]))
                    pos = n
                consumed = pos
                break
            end, reason = exact_record(data, pos, self.delimiter, self.quote, eof)
            if end is None:  # the malformed record goes on past this block
                consumed = pos
                break
            bad.append((pos, end, reason))
            pos = consumed = end
            mode = int(np.searchsorted(quotes, end) & 1)
        else:
            consumed = pos
        if not starts and not bad:
            return None, consumed
        return self._block(data, first_line, offset, line_feeds, starts, ends, fields, bad), consumed

    def _violations(self, a: np.ndarray, quotes: np.ndarray, eof: bool) -> list[np.ndarray]:
        """Positions breaking the quoting rules, for a record starting at even and at odd parity."""
        n = len(a)
        allowed_before = np.array([self.delimiter, LF, self.quote])
        allowed_after = np.array([self.delimiter, CR, LF, self.quote])
        before = a[np.maximum(quotes - 1, 0)]
        after = a[np.minimum(quotes + 1, n - 1)]
        may_open = (quotes == 0) | np.isin(before, allowed_before)
        may_close = np.isin(after, allowed_after) | ((quotes == n - 1) & eof)
        odd = (np.arange(len(quotes)) & 1) == 0  # the quote leaves an odd count behind it
        carriage_returns = np.flatnonzero(a == CR)
        bare = carriage_returns[(carriage_returns == n - 1) | (a[np.minimum(carriage_returns + 1, n - 1)] != LF)]
        bare_parity = np.searchsorted(quotes, bare) & 1
        result = []
        for mode in (0, 1):
            opens = odd if mode == 0 else ~odd
            wrong = quotes[(opens & ~may_open) | (~opens & ~may_close)]
            result.append(np.sort(np.concatenate((wrong, bare[bare_parity == mode]))))
        return result

    @staticmethod
    def _field_counts(breaks: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        return np.searchsorted(breaks, ends) - np.searchsorted(breaks, starts) + 1

    def _block(
        self,
        data: bytes,
        first_line: int,
        offset: int,
        line_feeds: np.ndarray,
        starts: list[np.ndarray],
        ends: list[np.ndarray],
        fields: list[np.ndarray],
        bad: list[tuple[int, int, str]],
    ) -> Block:
        all_starts = np.concatenate(starts) if starts else np.empty(0, np.int64)
        all_ends = np.concatenate(ends) if ends else np.empty(0, np.int64)
        counts = np.concatenate(fields) if fields else np.empty(0, np.int64)
        lines = first_line + np.searchsorted(line_feeds, all_starts)
        wrong = np.flatnonzero(counts != self.columns)
        for i in wrong:
            start, end = int(all_starts[i]), int(all_ends[i])
            blank = not data[start:end].strip(b"\r\n")
            reason = (
                f"blank line: expected {self.columns} fields"
                if blank
                else f"expected {self.columns} fields, found {int(counts[i])}"
            )
            bad.append((start, end, reason))
        keep = np.ones(len(all_starts), dtype=bool)
        keep[wrong] = False
        records = [
            BadRecord(first_line + int(np.searchsorted(line_feeds, s)), data[s:e], reason) for s, e, reason in bad
        ]
        records.sort(key=lambda r: r.line)
        return Block(data, offset, all_starts[keep], all_ends[keep], lines[keep], records)


def exact_record(data: bytes, start: int, delimiter: int, quote: int, eof: bool) -> tuple[int | None, str]:
    """Read one record byte by byte from `start`: where it ends, and the first rule it breaks.

    After a violation the record is read on the way lenient readers do (a stray quote is text) up
    to its line end. Two cases end it sooner, so that no well-formed record after it is swallowed:
    a quoted field that ran over a line end and then broke a rule (or never closed) ends the bad
    record at that first line end, and a bare carriage return ends it where it stands. Returns
    (None, "") when the record runs past the end of `data` and more data may follow.
    """
    n = len(data)
    reason = ""
    i = start
    field_start, in_quotes, after_close = True, False, False
    first_quoted_line_end: int | None = None  # a line end inside a quoted field, if any

    def note(message: str) -> None:
        nonlocal reason
        reason = reason or f"malformed CSV: {message}"

    def cut() -> tuple[int, str] | None:
        """After a violation: end at the quoted field's first line end, if it ran over one."""
        if first_quoted_line_end is not None:
            return first_quoted_line_end + 1, reason + " (a quoted field opened here runs over the line end)"
        return None

    while i < n:
        byte = data[i]
        if in_quotes:
            if byte == quote:
                if i + 1 < n and data[i + 1] == quote:
                    i += 2
                    continue
                if i + 1 >= n and not eof:
                    return None, ""
                in_quotes, after_close = False, True
            elif byte == LF and first_quoted_line_end is None:
                first_quoted_line_end = i
            i += 1
            continue
        if byte == LF:
            return i + 1, reason or "malformed CSV"
        if byte == CR:
            if i + 1 < n and data[i + 1] == LF:
                i += 1
                continue
            if i + 1 >= n and not eof:
                return None, ""
            note("a carriage return outside quotes that does not end the line")
            return cut() or (i + 1, reason)  # an old Mac line end, most likely: the record ends here
        elif byte == delimiter:
            field_start, after_close = True, False
        elif byte == quote:
            if field_start:
                in_quotes, field_start = True, False
            elif after_close:
                note("a quote right after a closing quote that is not doubled inside the field")
                after_close = False
            else:
                note("a quote inside an unquoted field (quote the field and double its quotes)")
        else:
            if after_close:
                note(f"text {chr(byte)!r} after the closing quote of a field")
                after_close = False
            field_start = False
        if reason and first_quoted_line_end is not None:
            return cut() or (n, reason)
        i += 1
    if not eof:
        return None, ""
    if in_quotes:
        note("a quoted field is never closed (runs to the end of the file)")
        if first_quoted_line_end is not None:
            return first_quoted_line_end + 1, reason
    return n, reason or "malformed CSV"
