"""Every environment variable the project reads is documented: it has a row in a configuration
table of the README or of a docs/ page. The code is scanned, so a new setting cannot slip in
undocumented."""

from __future__ import annotations

import re

from ingest.core.settings import REPO_ROOT

READ_BY = ["ingest", "orchestration", "governance", "reports", "dags", "scripts", "profiles", "dbt_project"]
SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".sh"}
# os.environ.get("X") / os.environ["X"] / os.getenv("X") in Python, env_var('X') in Jinja, ${X} / ${X:-..} in shell.
READ = re.compile(
    r"""(?:environ(?:\.get)?\s*[\(\[]\s*|getenv\(\s*|env_var\(\s*)["']([A-Z][A-Z0-9_]+)["']|\$\{([A-Z][A-Z0-9_]+)[:}]"""
)
NOT_OURS = {"PWD", "HOME", "PATH", "USER", "JAVA_HOME", "SPARK_HOME", "PYTHONPATH", "TMPDIR"}
# Filled in by our own code for a child, not set by a user: the DataHub recipes' placeholders.
INTERNAL = re.compile(r"GOVERNANCE_[A-Z_]+|VARS|AIRFLOW__[A-Z_]+")
ROW = re.compile(r"^\|[^|]*`([A-Z][A-Z0-9_]+)`")


def variables_read() -> dict[str, str]:
    """Each variable the project's code reads, with one file that reads it."""
    found: dict[str, str] = {}
    files = [REPO_ROOT / "dbt_project.yml", *(p for d in READ_BY for p in (REPO_ROOT / d).rglob("*"))]
    for path in files:
        if path.suffix in SUFFIXES and path.is_file():
            for match in READ.finditer(path.read_text(encoding="utf-8")):
                name = match.group(1) or match.group(2)
                if name not in NOT_OURS and not INTERNAL.fullmatch(name):
                    found.setdefault(name, str(path.relative_to(REPO_ROOT)))
    return found


def documented() -> set[str]:
    """The variables named in the first cell of a table row of the README or a docs/ page."""
    names: set[str] = set()
    for page in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for line in page.read_text(encoding="utf-8").splitlines():
            if ROW.match(line):
                first_cell = line.split("|")[1]
                names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_the_scan_finds_the_settings_it_must() -> None:
    # Guards the scanner itself: one variable of each kind of reader (Python, Jinja, shell).
    found = variables_read()
    assert {"LAKEHOUSE_MYSQL_URL", "LAKEHOUSE_PSEUDONYM_KEY", "SPARK_THRIFT_UI_PORT"} <= set(found)


def test_every_variable_the_code_reads_has_a_row_in_a_configuration_table() -> None:
    missing = {name: path for name, path in variables_read().items() if name not in documented()}
    assert missing == {}, f"document these in the README's configuration table (or a docs/ page's): {missing}"
