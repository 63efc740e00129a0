"""The second hop: MySQL tables -> the lake's raw zone, as committed batches of typed Parquet.

`extract_dataset` writes one batch per table (a full snapshot, the changes since the last batch,
or the binary log's changes); readers resolve the current rows of a table from its committed
batches (`read_current`). Modules: `runner` (plan, write, commit, audit), `changes` (the
incremental window and key sets), `cdc` (the binary log), `batches` (the lake's batches and
manifests), `mysql_arrow` (MySQL rows as Arrow), `audit` (the extract's audit table).
"""

from ingest.extract.batches import committed_batches, current_keys, read_current
from ingest.extract.runner import (
    ExtractError,
    ExtractFailed,
    ExtractInterrupted,
    ExtractOptions,
    TableFailures,
    TableResult,
    extract_dataset,
)

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
