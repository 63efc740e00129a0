"""Network helpers the tests share."""

from __future__ import annotations

from orchestration.services import free_port  # one helper for the project and its tests

__all__ = ["free_port"]
