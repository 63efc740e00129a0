"""One family of errors for the whole project, in two branches that decide what a retry can do.

- `DataError`: the data, its contract or the set-up is wrong (a bad CSV record, a contract that
  does not match the table, an invalid lake URI). Retrying cannot help: fix it, then re-run.
- `TransientError`: a service did not answer or a lock was held. The same command may succeed
  later; the pipeline retries it with backoff.

Callers catch `LakehouseError` (or a branch) instead of tuples of module errors; the Airflow tasks
map the branches to Airflow's retry policy in one place (`orchestration.tasks.airflow_retry_policy`).
"""

from __future__ import annotations


class LakehouseError(Exception):
    """Any error the project raises on purpose, with a message that says what to do next."""


class DataError(LakehouseError):
    """The input or the set-up is wrong; never retried."""


class TransientError(LakehouseError):
    """A service or a lock was not available; retried."""
