"""The `lakehouse-ingest` command (also `python -m ingest`): generate TPC-H, infer a contract,
load CSV files into MySQL (`main`), extract MySQL tables into the lake (`extract`)."""

from ingest.cli.main import app, main

__all__ = ["app", "main"]
