"""Governance in DataHub: dbt metadata and test results, the business glossary, the lake's datasets,
lineage from CSV file to report, and the policy check on dbt's manifest. `python -m governance --help`."""

from governance.emit import emit_metadata
from governance.errors import GovernanceError
from governance.policy import PolicyError, Violation, check_manifest, enforce
from governance.run_results import save_run_results

__all__ = [
    "GovernanceError",
    "PolicyError",
    "Violation",
    "check_manifest",
    "emit_metadata",
    "enforce",
    "save_run_results",
]
