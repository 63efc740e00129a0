"""The first hop: CSV files -> MySQL, every record loaded exactly or quarantined with its line and reason.

`load_dataset` runs a whole load (stage every table, publish them together); the Airflow DAG
stages each table in its own task (`LoadOptions(run_id=..., publish=False)`) and then calls
`publish_run` once.
"""

from ingest.load.loader import (
    FileReport,
    LoadError,
    LoadLocked,
    LoadOptions,
    TableReport,
    load_dataset,
    publish_run,
)
from ingest.load.quarantine import Rejected, read_quarantine
from ingest.load.stream import TooManyBadRows

__all__ = [
    "FileReport",
    "LoadError",
    "LoadLocked",
    "LoadOptions",
    "Rejected",
    "TableReport",
    "TooManyBadRows",
    "load_dataset",
    "publish_run",
    "read_quarantine",
]
