"""The errors of emitting governance metadata, in a module of their own so that every step
(run results, recipes, emit) can raise them without importing the others."""

from __future__ import annotations

from ingest.core.errors import DataError, TransientError


class GovernanceError(DataError):
    """Metadata could not be emitted; the message says what to do next."""


class SinkUnavailable(TransientError):
    """The metadata was written, but the DataHub sink did not take it; retried."""
