"""dbt's run results of the last `dbt build`, kept aside for the governance metadata: `dbt docs
generate` overwrites `run_results.json`, and the dbt tests' results must come from the build."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from governance.errors import GovernanceError

log = logging.getLogger(__name__)

SAVED_RUN_RESULTS = "run_results.build.json"


def save_run_results(target_dir: Path) -> Path:
    """Copy `run_results.json` right after `dbt build`, before `dbt docs generate` overwrites it."""
    source = target_dir / "run_results.json"
    if not source.exists():
        raise GovernanceError(f"{source} does not exist: run `dbt build` first")
    saved = target_dir / SAVED_RUN_RESULTS
    shutil.copyfile(source, saved)
    return saved


def build_run_results(target_dir: Path) -> Path | None:
    """The run results of the last `dbt build`/`test`/`run`: the saved copy, else run_results.json if it is one."""
    saved = target_dir / SAVED_RUN_RESULTS
    if saved.exists():
        return saved
    current = target_dir / "run_results.json"
    if current.exists():
        which = json.loads(current.read_text(encoding="utf-8")).get("args", {}).get("which")
        if which in ("build", "test", "run"):
            return current
    log.warning("no run results of `dbt build` in %s: dbt tests are emitted without their results", target_dir)
    return None
