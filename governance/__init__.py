"""Governance in DataHub: dbt metadata and test results, the business glossary, the lake's datasets,
lineage from CSV file to report, and the policy check on dbt's manifest. `python -m governance --help`."""

from governance.emit import GovernanceError, emit_metadata, save_run_results
from governance.policy import PolicyError, Violation, check_manifest, enforce

__all__ = [
    "GovernanceError",
    "PolicyError",
    "Violation",
    "check_manifest",
    "emit_metadata",
    "enforce",
    "save_run_results",
]
