"""The extract's failures: one that cannot finish (`ExtractError`), and the command's summary when
some tables failed, split by whether a retry may help (`ExtractInterrupted`) or not (`ExtractFailed`)."""

from __future__ import annotations

from ingest.core.errors import DataError, TransientError
from ingest.extract.job import TableResult


class ExtractError(DataError):
    """An extract that cannot finish; nothing of it was committed."""


class TableFailures(Exception):
    """Some tables failed: their exceptions (each keeps its class), and the results of those that
    succeeded. Raised as `ExtractFailed` (data: fix, then re-run) or `ExtractInterrupted` (a table
    met a transient failure: the whole command may be retried)."""

    def __init__(self, errors: dict[str, BaseException], results: list[TableResult]) -> None:
        self.exceptions = errors
        self.errors = {table: str(exc) for table, exc in errors.items()}
        self.results = results
        lines = "; ".join(f"{table}: {message}" for table, message in self.errors.items())
        super().__init__(f"{len(errors)} table(s) failed: {lines}")

    @staticmethod
    def of(errors: dict[str, BaseException], results: list[TableResult]) -> TableFailures:
        """The transient branch when any table's failure is transient, else the data branch."""
        transient = any(isinstance(exc, TransientError) for exc in errors.values())
        return (ExtractInterrupted if transient else ExtractFailed)(errors, results)


class ExtractFailed(TableFailures, ExtractError):
    """Tables failed for reasons a retry cannot fix."""


class ExtractInterrupted(TableFailures, TransientError):
    """At least one table failed on a service (MySQL, the lake's server): retried."""
