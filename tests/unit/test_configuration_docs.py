"""One home for every setting: each environment variable the project reads is a field of
`ingest.core.settings.Settings`, Python modules read them only through it, and the configuration
tables of the README and docs/production.md are the ones generated from it. The code is scanned,
so a new variable cannot slip in beside the object."""

from __future__ import annotations

import re

import pytest

from ingest.core import settings as settings_module
from ingest.core.settings import (
    PAGES,
    REPO_ROOT,
    TABLE_OF,
    VARIABLES,
    SettingsError,
    settings,
    with_configuration_table,
)

READ_BY = ["ingest", "orchestration", "governance", "reports", "dags", "scripts", "profiles", "dbt_project"]
SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".sh"}
# os.environ.get("X") / os.environ["X"] / os.getenv("X") in Python, env_var('X') in Jinja, ${X} / ${X:-..} in shell.
READ = re.compile(
    r"""(?:environ(?:\.get)?\s*[\(\[]\s*|getenv\(\s*|env_var\(\s*)["']([A-Z][A-Z0-9_]+)["']|\$\{([A-Z][A-Z0-9_]+)[:}]"""
)
NOT_OURS = {"PWD", "HOME", "PATH", "USER", "JAVA_HOME", "SPARK_HOME", "PYTHONPATH", "TMPDIR"}
# Filled in by our own code for a child, not set by a user: the DataHub recipes' placeholders.
INTERNAL = re.compile(r"GOVERNANCE_[A-Z_]+|VARS|AIRFLOW__[A-Z_]+")


def variables_read() -> dict[str, set[str]]:
    """Each variable the project's code reads, with the files that read it."""
    found: dict[str, set[str]] = {}
    files = [REPO_ROOT / "dbt_project.yml", *(p for d in READ_BY for p in (REPO_ROOT / d).rglob("*"))]
    for path in files:
        if path.suffix in SUFFIXES and path.is_file():
            for match in READ.finditer(path.read_text(encoding="utf-8")):
                name = match.group(1) or match.group(2)
                if name not in NOT_OURS and not INTERNAL.fullmatch(name):
                    found.setdefault(name, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def test_the_scan_finds_the_settings_it_must() -> None:
    # Guards the scanner itself: one variable of each kind of reader (Jinja, shell).
    found = variables_read()
    assert {"LAKEHOUSE_PSEUDONYM_KEY", "SPARK_THRIFT_UI_PORT", "LAKEHOUSE_LOCAL_DIR"} <= set(found)


def test_every_variable_the_code_reads_is_a_setting() -> None:
    missing = {name: files for name, files in variables_read().items() if name not in VARIABLES.values()}
    assert missing == {}, f"add these to ingest/core/settings.py (then `make settings-docs`): {missing}"


def test_python_reads_settings_only_through_the_settings_object() -> None:
    settings_file = str(settings_module.__file__).removeprefix(f"{REPO_ROOT}/")
    direct = {
        name: sorted(f for f in files if f.endswith(".py") and f != settings_file)
        for name, files in variables_read().items()
    }
    assert {name: files for name, files in direct.items() if files} == {}, "ask ingest.core.settings.settings()"


@pytest.mark.parametrize("table", sorted(PAGES))
def test_the_configuration_tables_are_the_generated_ones(table: str) -> None:
    page = PAGES[table].read_text(encoding="utf-8")  # type: ignore[index]
    assert with_configuration_table(page, table) == page, "run `make settings-docs`"  # type: ignore[arg-type]
    for variable in (v for v, shown_in in TABLE_OF.items() if shown_in == table):
        assert f"| `{variable}` |" in page


def test_a_bad_value_names_its_variable_and_never_repeats_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_TASK_RETRIES", "two-secret-ish")
    with pytest.raises(SettingsError) as bad:
        settings()
    assert "LAKEHOUSE_TASK_RETRIES" in str(bad.value) and "two-secret-ish" not in str(bad.value)


def test_settings_follow_the_environment_and_are_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_AUDIT_DB", "audit_one")
    first = settings()
    assert first.audit_db == "audit_one" and settings() is first  # once per environment
    monkeypatch.setenv("LAKEHOUSE_AUDIT_DB", "audit_two")
    assert settings().audit_db == "audit_two"
    monkeypatch.setenv("LAKEHOUSE_AUDIT_DB", "")  # empty is unset, as a shell's `X=` means
    assert settings().audit_db == "lakehouse_audit"
