"""The Parquet files of one batch, written as rows stream in: row groups of a fixed size and a new
file past a size limit, so memory holds at most one row group; each file is described (rows, bytes,
CRC32C) for the manifest."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.core import lake as lakes
from ingest.extract.batches import FileEntry
from ingest.extract.job import ExtractOptions, checkpoint


class PartWriter:
    """Parquet files of one batch: row groups of exactly `row_group_rows` (the last may be
    smaller), a new file once one passes `max_file_bytes`. Holds at most one row group in memory."""

    def __init__(self, folder: Path, schema: pa.Schema, options: ExtractOptions) -> None:
        self.folder = folder
        self.schema = schema
        self.options = options
        self.buffer: list[pa.RecordBatch] = []
        self.buffered = 0
        self.entries: list[FileEntry] = []
        self._writer: pq.ParquetWriter | None = None
        self._sink: pa.NativeFile | None = None
        self._rows = 0
        self._groups = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.buffer.append(batch)
        self.buffered += batch.num_rows
        size = self.options.row_group_rows
        if self.buffered < size:
            return
        table = pa.Table.from_batches(self.buffer, schema=self.schema)
        offset = 0
        while table.num_rows - offset >= size:
            self._write(table.slice(offset, size))
            offset += size
        rest = table.slice(offset)
        self.buffer, self.buffered = rest.to_batches(), rest.num_rows

    def finish(self) -> list[FileEntry]:
        """Flush, close, and describe the files (an empty batch still gets one file with the schema)."""
        if self.buffered or (not self.entries and self._writer is None):
            self._write(pa.Table.from_batches(self.buffer, schema=self.schema))
        self._close()
        return self.entries

    def _write(self, table: pa.Table) -> None:
        if self._writer is None:
            path = self.folder / f"part-{len(self.entries):05d}.parquet"
            self._sink = pa.OSFile(str(path), "wb")
            self._writer = pq.ParquetWriter(
                self._sink,
                self.schema,
                compression=self.options.compression,
                compression_level=self.options.compression_level,
            )
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._rows += table.num_rows
        self._groups += 1
        assert self._sink is not None
        if self._sink.tell() >= self.options.max_file_bytes:
            self._close()

    def _close(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        assert self._sink is not None
        self._sink.close()
        path = self.folder / f"part-{len(self.entries):05d}.parquet"
        crc, _ = lakes.file_checksums(path, md5=False)
        self.entries.append(
            FileEntry(path=path.name, rows=self._rows, bytes=path.stat().st_size, row_groups=self._groups, crc32c=crc)
        )
        checkpoint("file-written")
        self._writer, self._sink, self._rows, self._groups = None, None, 0, 0
