"""The second hop: MySQL tables -> the lake's raw zone, as committed batches of typed Parquet.

`extract_dataset` writes one batch per table (a full snapshot, the changes since the last batch,
or the binary log's changes); readers resolve the current rows of a table from its committed
batches (`read_current`). Modules: `runner` (one table's steps, and the fan-out over a dataset),
`source` (the MySQL table checked, locked, counted), `plan` (what a batch reads), `write` and
`parquet_writer` (a batch's files in staging), `commit` (manifest, publish, audit, retention),
`watermarks` (cursor values as text), `job` (options, results), `errors`, `changes` (the
incremental window and key sets), `cdc` (the binary log), `batches` (the lake's batches and
manifests), `mysql_arrow` (MySQL rows as Arrow), `audit` (the extract's audit table).
"""

from ingest.extract.batches import committed_batches, current_keys, read_current
from ingest.extract.errors import ExtractError, ExtractFailed, ExtractInterrupted, TableFailures
from ingest.extract.job import ExtractOptions, TableResult
from ingest.extract.runner import extract_dataset

__all__ = [
    "ExtractError",
    "ExtractFailed",
    "ExtractInterrupted",
    "ExtractOptions",
    "TableFailures",
    "TableResult",
    "committed_batches",
    "current_keys",
    "extract_dataset",
    "read_current",
]
