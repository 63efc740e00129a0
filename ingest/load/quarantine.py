"""Quarantine files: the rejected records of one file, one JSON object per line.

JSON Lines keeps each record's exact bytes (its line end included) and cannot run as a formula
when someone opens it in a spreadsheet, as a CSV of raw records could. Each line holds
`{"line": 12, "reason": "...", "record": "<the record as text>"}` (with `"encoding"` when the file's
is not UTF-8); a record that is not valid text in the file's encoding is stored as
`"record_base64"` instead. `python -m ingest quarantine FILE`
shows one as a table.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    raw: bytes


class QuarantineFile:
    """Written lazily: no file unless a record is rejected."""

    def __init__(self, path: Path, encoding: str) -> None:
        self.path = path
        self.encoding = encoding
        self.count = 0
        self.first: Rejected | None = None
        self._handle: TextIO | None = None

    def add(self, line: int, reason: str, raw: bytes) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("w", encoding="utf-8")
        entry: dict[str, object] = {"line": line, "reason": reason}
        try:
            entry["record"] = raw.decode(self.encoding)
            if self.encoding != "utf-8":
                entry["encoding"] = self.encoding  # so the exact bytes come back
        except UnicodeDecodeError:
            entry["record_base64"] = base64.b64encode(raw).decode("ascii")
        self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        if self.first is None or line < self.first.line:
            self.first = Rejected(line, reason, raw)
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_quarantine(path: Path) -> Iterator[Rejected]:
    """The rejected records of a quarantine file, with their exact bytes, in line order."""
    entries = []
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            entry = json.loads(text)
            if "record" in entry:
                raw = entry["record"].encode(entry.get("encoding", "utf-8"))
            else:
                raw = base64.b64decode(entry["record_base64"])
            entries.append(Rejected(int(entry["line"]), str(entry["reason"]), raw))
    yield from sorted(entries, key=lambda r: r.line)
