"""Every setting of the project in one typed object, resolved from the environment once.

`settings()` is what every module asks (never `os.environ`): it validates each value and fills in
the embedded defaults of a laptop. It is resolved once per process and again only when one of its
variables changes (an Airflow task, a test). Each field names its environment variable, its
default as the docs show it and what it means: the configuration tables of the README and of
docs/production.md are generated from these fields (`make settings-docs`), and a test fails when
they differ. Airflow connections override some of them per task (`orchestration.config`); dbt reads
the same variables with one `env_var` each in `profiles.yml`. The failpoints of the crash tests
(`ingest.core.failpoints`) are test hooks, not settings, and stay outside.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from ssl import CERT_NONE, SSLContext, create_default_context
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306"

Table = Literal["readme", "production"]


def setting(variable: str, default: Any, shown: str, meaning: str, table: Table = "readme") -> Any:
    """A field read from `variable`; `shown` is its default as the configuration table writes it."""
    return Field(default, validation_alias=variable, description=meaning,
                 json_schema_extra={"variable": variable, "shown": shown, "table": table})  # fmt: skip


class Settings(BaseSettings):
    """The project's settings (the field order is the order of the configuration tables)."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, frozen=True, extra="ignore")

    mysql_url: SecretStr = setting(
        "LAKEHOUSE_MYSQL_URL",
        SecretStr(DEFAULT_MYSQL_URL),
        f"`{DEFAULT_MYSQL_URL}`",
        "the MySQL server (`mysql://user:password@host:port`, `?unix_socket=/path` allowed). Percent-encode "
        "special characters of the user and password (`/` %2F, `?` %3F, `#` %23, `@` %40, `:` %3A, `%` %25). "
        "The password is never printed, and a malformed URL gives a one-line error that does not repeat it. "
        "**TLS**: `?ssl_ca=/ca.pem` (and `&ssl_cert=/client.pem&ssl_key=/client-key.pem` for a client "
        "certificate), or `?ssl=true` to verify against the system's roots; the server's certificate and "
        "host name are verified unless `ssl_verify=false`. Every connection uses it (loader, extract, cdc); "
        "extracts then read with PyMySQL, since connectorx takes no CA. Without TLS settings PyMySQL still "
        "encrypts when the server offers TLS, without verifying it. In Airflow, the `lakehouse_mysql` "
        'connection (its extra `{"ssl": {"ca": ..., "cert": ..., "key": ...}}` for TLS)',
    )
    local_dir: Path = setting(
        "LAKEHOUSE_LOCAL_DIR",
        REPO_ROOT / ".local",
        "`<repo>/.local`",
        "state of the embedded defaults (quarantine files, private MySQL, TPC-H files, the lake, Spark's "
        "metastore, the pseudonym key)",
    )
    quarantine_dir: Path | None = setting(
        "LAKEHOUSE_QUARANTINE_DIR", None, "`$LAKEHOUSE_LOCAL_DIR/quarantine`", "where rejected rows go"
    )
    audit_db: str = setting(
        "LAKEHOUSE_AUDIT_DB",
        "lakehouse_audit",
        "`lakehouse_audit`",
        "the MySQL database holding the audit tables (`file_loads`, `extracts`)",
    )
    lake_uri: str | None = setting(
        "LAKEHOUSE_LAKE_URI",
        None,
        "`$LAKEHOUSE_LOCAL_DIR/lake`",
        "the lake: `gs://BUCKET/PREFIX`, `file:///abs/path` (percent-encoded) or a plain path (relative to "
        "the current folder; spaces, `#` and `%` are fine in a plain path). One rule resolves it everywhere: "
        "`ingest.core.lake.resolve_lake_uri` in Python, the `lake_root()` macro in dbt (`dbt run-operation "
        "show_lake` prints it); a test holds the two to the same answer. "
        "Single quotes, backslashes and control characters are refused.",
    )
    google_application_credentials: Path | None = setting(
        "GOOGLE_APPLICATION_CREDENTIALS",
        None,
        "application default credentials",
        "a service-account key file for a `gs://` lake (read by Google's client itself)",
    )
    storage_emulator_host: str | None = setting(
        "STORAGE_EMULATOR_HOST", None, "—", "a GCS emulator to use instead of GCS (`http://127.0.0.1:PORT`)"
    )
    google_cloud_project: str | None = setting(
        "GOOGLE_CLOUD_PROJECT",
        None,
        "the credentials' project",
        "the project google-cloud-storage bills a `gs://` lake's requests to",
    )
    pseudonym_key: SecretStr | None = setting(
        "LAKEHOUSE_PSEUDONYM_KEY",
        None,
        "`make` keeps one in `$LAKEHOUSE_LOCAL_DIR/pseudonym.key`",
        "the key (64 hex characters) of the masked models' pseudonyms; a plain `dbt build` reads the key "
        "file when this is unset; in Airflow the `lakehouse_pseudonym` connection's password ([dbt](docs/dbt.md))",
    )
    dbt_target: Literal["local", "thrift", "dataproc"] = setting(
        "DBT_TARGET", "local", "`local`", "dbt's default target (`local`, `thrift`, `dataproc`)"
    )
    dbt_target_path: Path = setting(
        "DBT_TARGET_PATH",
        REPO_ROOT / "target",
        "`<repo>/target`",
        "where dbt writes its artifacts; `governance emit` and `lakehouse-docs` read them there",
    )
    spark_master: str = setting(
        "LAKEHOUSE_SPARK_MASTER", "local[2]", "`local[2]`", "the Spark master of the report and profile pages"
    )
    spark_events: Path | None = setting(
        "LAKEHOUSE_SPARK_EVENTS",
        None,
        "`.local/spark-events` in the pipeline",
        "the folder of Spark's event logs, which `make spark-history` serves: the pipeline's dbt tasks, "
        "the reports and the Thrift server always write them; a plain `dbt` command only when it is set",
    )
    spark_history_port: int = setting(
        "LAKEHOUSE_SPARK_HISTORY_PORT", 18080, "`18080`", "the port of Spark's history server (`make spark-history`)"
    )
    spark_thrift_host: str = setting(
        "SPARK_THRIFT_HOST",
        "127.0.0.1",
        "`127.0.0.1`",
        "the Spark Thrift server of the `thrift` target (in Airflow, the `spark_thrift` connection)",
    )
    spark_thrift_port: int = setting("SPARK_THRIFT_PORT", 10000, "`10000`", "its port")
    spark_thrift_user: str = setting("SPARK_THRIFT_USER", "dbt", "`dbt`", "the user the `thrift` target connects as")
    spark_thrift_ui_port: int = setting(
        "SPARK_THRIFT_UI_PORT",
        4041,
        "`4041`",
        "the Spark UI port of the local Thrift server (`scripts/spark-thrift.sh`)",
    )
    spark_thrift_master: str = setting(
        "SPARK_THRIFT_MASTER", "local[2]", "`local[2]`", "the local Thrift server's master"
    )
    spark_thrift_memory: str = setting("SPARK_THRIFT_MEMORY", "4g", "`4g`", "the local Thrift server's driver memory")
    python: Path = setting(
        "LAKEHOUSE_PYTHON",
        Path(sys.executable),
        "`.venv/bin/python`",
        "the Python whose pyspark the local Thrift server runs",
    )
    report_show_restricted: bool = setting(
        "LAKEHOUSE_REPORT_SHOW_RESTRICTED",
        False,
        "`false`",
        "`true`: the business report shows customer and supplier names ([report](docs/reports.md))",
    )
    task_retries: int = setting("LAKEHOUSE_TASK_RETRIES", 2, "`2`", "the pipeline DAG's retries per task")
    retry_delay_seconds: int = setting(
        "LAKEHOUSE_RETRY_DELAY_SECONDS", 30, "`30`", "the first delay between tries (it doubles, up to 10 minutes)"
    )
    dbt_execution: Literal["watcher", "per_model"] = setting(
        "LAKEHOUSE_DBT_EXECUTION",
        "watcher",
        "`watcher`",
        "how the DAGs run dbt: `watcher` (one `dbt build`, a task per model that follows it) or `per_model` "
        "([Airflow](docs/airflow.md))",
    )
    dbt_model_tasks: Literal["triggerer", "reschedule"] = setting(
        "LAKEHOUSE_DBT_MODEL_TASKS",
        "triggerer",
        "`triggerer`",
        "how a scheduler runs the watcher's model tasks while the build runs: `triggerer` (they start and end "
        "there, no worker) or `reschedule` (a worker looks every 5 s); `dags test` always reschedules",
    )
    airflow_postgres_url: SecretStr = setting(
        "LAKEHOUSE_AIRFLOW_POSTGRES_URL",
        SecretStr("postgresql://postgres@127.0.0.1:5432/postgres"),
        "`postgresql://postgres@127.0.0.1:5432/postgres`",
        "the PostgreSQL server that keeps Airflow's metadata for `make airflow-services AIRFLOW_DB=postgres` "
        "(database `lakehouse_airflow`, created when missing); `scripts/postgres-local.sh` starts one if none answers",
    )
    celery_broker_url: str = setting(
        "LAKEHOUSE_CELERY_BROKER_URL",
        "redis://127.0.0.1:6379/5",
        "`redis://127.0.0.1:6379/5`",
        "the Celery broker of `make airflow-services EXECUTOR=celery` (two workers)",
    )
    bi_port: int = setting("LAKEHOUSE_BI_PORT", 8088, "`8088`", "the port of Superset (`make bi`) on 127.0.0.1")
    bi_database_uri: SecretStr | None = setting(
        "SUPERSET_DATABASE_URI",
        None,
        "SQLite in `.local/bi/`",
        "Superset's own metadata database (PostgreSQL in production: `postgresql+psycopg2://...`)",
        "production",
    )
    bi_secret_key: SecretStr | None = setting(
        "SUPERSET_SECRET_KEY",
        None,
        "made on first use in `.local/bi/secret_key`",
        "the key that signs Superset's sessions and encrypts the connection secrets it keeps",
        "production",
    )
    datahub_sink: Literal["file", "lite", "rest"] = setting(
        "LAKEHOUSE_DATAHUB_SINK",
        "file",
        "`file`",
        "where the DAG's governance step sends metadata: `file` (`<lake>/governance/metadata.json`), `lite` or "
        "`rest` ([governance](docs/governance.md))",
    )
    datahub_gms_url: str | None = setting(
        "DATAHUB_GMS_URL", None, "—", "a DataHub server for `governance emit --sink rest`"
    )
    datahub_gms_token: SecretStr | None = setting("DATAHUB_GMS_TOKEN", None, "—", "its access token")
    datahub_lite_file: Path | None = setting(
        "DATAHUB_LITE_FILE",
        None,
        "`$LAKEHOUSE_LOCAL_DIR/datahub-lite/datahub.db`",
        "DataHub Lite's database for `governance emit --sink lite`",
    )
    gcs_hmac_id: str | None = setting(
        "LAKEHOUSE_GCS_HMAC_ID",
        None,
        "—",
        "the HMAC access id with which DataHub's `gcs` source reads a `gs://` lake (`governance emit`; in "
        "Airflow the `lakehouse_gcs_hmac` connection's login)",
    )
    gcs_hmac_secret: SecretStr | None = setting(
        "LAKEHOUSE_GCS_HMAC_SECRET", None, "—", "its secret (the connection's password)"
    )
    governance_venv: Path = setting(
        "LAKEHOUSE_GOVERNANCE_VENV",
        REPO_ROOT / ".venv-governance",
        "`<repo>/.venv-governance`",
        "the environment holding DataHub's data-lake sources (`make venv` makes it); a lake whose path holds "
        "`{ } [ ] * ? $` cannot be read by them",
    )
    airflow_metadata: Path | None = setting(
        "LAKEHOUSE_AIRFLOW_METADATA",
        None,
        "—",
        "set by `make demo`: the file its local collector fills with what DataHub's Airflow plugin sends, "
        "which the governance step merges",
    )
    gcp_project: str = setting(
        "GCP_PROJECT", "my-gcp-project", "`my-gcp-project`", "where the ephemeral Dataproc cluster runs", "production"
    )
    gcp_region: str = setting("GCP_REGION", "europe-west1", "`europe-west1`", "its region", "production")
    bucket: str = setting(
        "LAKEHOUSE_BUCKET",
        "my-lakehouse-bucket",
        "`my-lakehouse-bucket`",
        "the bucket holding the lake, the Thrift start-up script and the report job",
        "production",
    )
    dataproc_service_account: str | None = setting(
        "DATAPROC_SERVICE_ACCOUNT",
        None,
        "`lakehouse-dataproc@<project>.iam.gserviceaccount.com`",
        "the cluster's service account",
        "production",
    )
    dataproc_subnetwork: str | None = setting(
        "DATAPROC_SUBNETWORK",
        None,
        "the region's `default` subnetwork",
        "the cluster's subnetwork (internal IPs only)",
        "production",
    )
    dataproc_thrift_host: str | None = setting(
        "DATAPROC_THRIFT_HOST",
        None,
        "set by the DAG: the master's name",
        "what the `dataproc` dbt target connects to",
        "production",
    )
    dataproc_thrift_port: int = setting("DATAPROC_THRIFT_PORT", 10000, "`10000`", "its port", "production")
    dataproc_thrift_user: str = setting("DATAPROC_THRIFT_USER", "dbt", "`dbt`", "its user", "production")

    @property
    def quarantine(self) -> Path:
        return self.quarantine_dir or self.local_dir / "quarantine"

    def mysql(self) -> MySQLSettings:
        return MySQLSettings.from_url(self.mysql_url.get_secret_value())


def _documented(name: str) -> dict[str, str]:
    """What `setting()` recorded of a field: its variable, shown default and table."""
    extra = Settings.model_fields[name].json_schema_extra
    assert isinstance(extra, dict)
    return {key: str(value) for key, value in extra.items()}


VARIABLES: dict[str, str] = {name: _documented(name)["variable"] for name in Settings.model_fields}
TABLE_OF: dict[str, str] = {variable: _documented(name)["table"] for name, variable in VARIABLES.items()}


def reveal(secret: SecretStr | None) -> str:
    """A secret setting's text, or "" when it is unset (for a child's environment or a recipe)."""
    return secret.get_secret_value() if secret is not None else ""


class SettingsError(ValueError):
    """A setting's value is not valid; the message names the variable, never the value."""


@lru_cache(maxsize=16)
def _resolve(_environment: tuple[str | None, ...]) -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{error['loc'][0]}: {error['msg']}" for error in exc.errors(include_input=False, include_url=False)
        )
        raise SettingsError(f"invalid setting(s): {problems}") from None


def settings() -> Settings:
    """The settings of this process: resolved once, and again when one of their variables changes."""
    return _resolve(tuple(os.environ.get(variable) for variable in VARIABLES.values()))


def configuration_table(table: Table) -> str:
    """The configuration table (Markdown) of the README or of docs/production.md, from the fields."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        extra = _documented(name)
        if extra["table"] == table:
            rows.append(f"| `{extra['variable']}` | {extra['shown']} | {field.description} |")
    return "\n".join(rows) + "\n"


BEGIN, END = "<!-- settings table: generated by `make settings-docs`; edit ingest/core/settings.py -->", "<!-- end -->"
PAGES: dict[Table, Path] = {"readme": REPO_ROOT / "README.md", "production": REPO_ROOT / "docs" / "production.md"}


def with_configuration_table(page: str, table: Table) -> str:
    """`page` with the generated table between its markers (a page without them is an error)."""
    before, marker, rest = page.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not marker or not end:
        raise ValueError(f"the page has no {BEGIN} ... {END} markers for the {table} settings table")
    return f"{before}{BEGIN}\n{configuration_table(table)}{END}{after}"


def write_configuration_tables() -> list[Path]:
    """Regenerate the configuration tables of the README and docs/production.md; the changed pages."""
    changed = []
    for table, path in PAGES.items():
        text = path.read_text(encoding="utf-8")
        new = with_configuration_table(text, table)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def shown_values(resolved: Settings) -> dict[str, str]:
    """Each variable with the value this process resolved, secrets as ***."""
    shown = {}
    for name, variable in VARIABLES.items():
        value = getattr(resolved, name)
        shown[variable] = "***" if isinstance(value, SecretStr) else "" if value is None else str(value)
    return shown


def local_dir() -> Path:
    """Where the embedded defaults keep their state (`<repo>/.local`, or LAKEHOUSE_LOCAL_DIR)."""
    return settings().local_dir


def spark_events_dir() -> Path:
    """Where Spark's event logs go (LAKEHOUSE_SPARK_EVENTS, else `.local/spark-events`), created."""
    folder = (settings().spark_events or local_dir() / "spark-events").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def quarantine_dir() -> Path:
    return settings().quarantine


def audit_database() -> str:
    return settings().audit_db


@dataclass(frozen=True)
class MySQLSettings:
    """Where MySQL is. The password never appears in `str()`/`repr()` or in logs."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    unix_socket: str | None = None
    # TLS: on with `ssl=true` or any of the files; the server's certificate and name are verified
    # (against `ssl_ca`, else the system's roots) unless `ssl_verify=false`.
    ssl: bool = False
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    ssl_verify: bool = True

    @property
    def tls(self) -> bool:
        return self.ssl or bool(self.ssl_ca or self.ssl_cert or self.ssl_key)

    def ssl_context(self) -> SSLContext | None:
        """The TLS context of every connection (pymysql, the binlog reader), or None without TLS."""
        if not self.tls:
            return None
        context = create_default_context(cafile=self.ssl_ca)
        if self.ssl_cert:
            context.load_cert_chain(self.ssl_cert, self.ssl_key)
        if not self.ssl_verify:
            context.check_hostname = False
            context.verify_mode = CERT_NONE
        return context

    @classmethod
    def from_url(cls, url: str) -> MySQLSettings:
        """Parse `mysql://user:password@host:port[?options]`; user and password may be
        percent-encoded (`/` as %2F, `?` as %3F, `#` as %23, `@` as %40, `:` as %3A, `%` as %25).
        Options: `unix_socket=/path`; TLS: `ssl=true`, `ssl_ca=/ca.pem`, `ssl_cert=/cert.pem`,
        `ssl_key=/key.pem`, `ssl_verify=false` (verification is on by default).

        A URL that does not parse gives a one-line error that never repeats the URL: the text
        after `://` may hold the password."""
        problem = (
            "LAKEHOUSE_MYSQL_URL is not a valid mysql://user:password@host:port URL ({}); "
            "percent-encode special characters of the user and password (/ as %2F, ? as %3F, # as %23, "
            "@ as %40, : as %3A, % as %25)"
        )
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValueError(problem.format("the port is not a number")) from None
        if parts.scheme not in ("mysql", "mariadb"):
            raise ValueError(problem.format("it must start with mysql://"))
        if parts.fragment or parts.path not in ("", "/") or url.count("@") > 1:
            raise ValueError(problem.format("something follows the host that is not ?unix_socket="))
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - {"unix_socket", "ssl", "ssl_ca", "ssl_cert", "ssl_key", "ssl_verify"})
        if unknown:
            raise ValueError(problem.format(f"unknown option(s) {unknown}"))
        flags = {}
        for name in ("ssl", "ssl_verify"):
            if name in query and query[name].lower() not in ("true", "false", "1", "0"):
                raise ValueError(problem.format(f"{name} must be true or false"))
            flags[name] = query.get(name, "true" if name == "ssl_verify" else "false").lower() in ("true", "1")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            unix_socket=query.get("unix_socket"),
            ssl=flags["ssl"],
            ssl_ca=query.get("ssl_ca"),
            ssl_cert=query.get("ssl_cert"),
            ssl_key=query.get("ssl_key"),
            ssl_verify=flags["ssl_verify"],
        )

    @classmethod
    def from_env(cls) -> MySQLSettings:
        return settings().mysql()

    def __str__(self) -> str:
        secret = ":***" if self.password else ""
        options = [f"unix_socket={self.unix_socket}"] if self.unix_socket else []
        if self.tls:
            options.append("tls" + ("" if self.ssl_verify else ", unverified"))
        where = f"?{'&'.join(options)}" if options else ""
        return f"mysql://{self.user}{secret}@{self.host}:{self.port}{where}"

    __repr__ = __str__
