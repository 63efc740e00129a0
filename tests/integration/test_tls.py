"""TLS to MySQL: the project's private MariaDB started with certificates this test makes
(`scripts/mysql-local.sh` serves TLS, and only TLS, when they are there), then a load, an
extract and a cdc extract through it; a foreign CA and a missing client certificate are refused
with clear errors that never hold the password; the Airflow connection's `ssl` extra reaches
every connection."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.core import lake as lakes
from ingest.core.mysql import MySQLUnavailable, connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.extract import ExtractOptions, extract_dataset
from ingest.extract import batches as lakebatches
from ingest.load import LoadOptions, load_dataset
from orchestration import config
from tests.net import free_port
from tests.shop import ACCOUNTS, T

PASSWORD = "s3cret/pa?ss#word"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def certificate_authority(folder: Path, name: str) -> None:
    """`<name>.pem` and `<name>-key.pem`: a CA valid for two days."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=lakehouse test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", f"{name}-key.pem", "-out", f"{name}.pem", cwd=folder)  # fmt: skip


def signed(folder: Path, name: str, ca: str, extension: str) -> None:
    """`<name>-cert.pem` and `<name>-key.pem`, signed by the CA `ca`."""
    (folder / f"{name}.ext").write_text(extension + "\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}-key.pem",
            "-out", f"{name}.csr", cwd=folder)  # fmt: skip
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}-cert.pem", cwd=folder)  # fmt: skip


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MySQLSettings, Path]]:
    state = tmp_path_factory.mktemp("tls")
    tls = state / "mysql" / "tls"
    tls.mkdir(parents=True)
    certificate_authority(tls, "ca")
    signed(tls, "server", "ca", "subjectAltName=IP:127.0.0.1")
    signed(tls, "client", "ca", "extendedKeyUsage=clientAuth")
    certificate_authority(tls, "other-ca")
    port = free_port()
    env = {**os.environ, "LAKEHOUSE_LOCAL_DIR": str(state), "LAKEHOUSE_MYSQL_URL": f"mysql://root@127.0.0.1:{port}"}
    script = str(REPO_ROOT / "scripts" / "mysql-local.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr
    root = MySQLSettings(port=port, ssl_ca=str(tls / "ca.pem"))
    conn = connect(root)
    with conn.cursor() as cursor:
        cursor.execute("CREATE USER 'app'@'%%' IDENTIFIED BY %s REQUIRE SSL", (PASSWORD,))
        cursor.execute("CREATE USER 'certified'@'%%' IDENTIFIED BY %s REQUIRE X509", (PASSWORD,))
        for user in ("app", "certified"):
            cursor.execute(f"GRANT ALL ON *.* TO '{user}'@'%'")  # no parameters: a bare %
    conn.close()
    try:
        yield root, tls
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)


def url(port: int, user: str = "app", **options: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return f"mysql://{user}:s3cret%2Fpa%3Fss%23word@127.0.0.1:{port}" + (f"?{query}" if query else "")


def cipher(settings: MySQLSettings) -> str:
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            row = cursor.fetchone()
    finally:
        conn.close()
    return str(row[1]) if row else ""


def test_load_extract_and_cdc_run_over_verified_tls(tls_server: tuple[MySQLSettings, Path], tmp_path: Path) -> None:
    root, tls = tls_server
    settings = MySQLSettings.from_url(url(root.port, ssl_ca=str(tls / "ca.pem")))
    assert settings.tls and settings.ssl_verify and cipher(settings)
    assert "tls" in str(settings) and PASSWORD not in str(settings)
    source = tmp_path / "csv"
    source.mkdir()
    (source / "accounts.csv").write_text(f"id,balance,note,updated_at\n1,1.00,one,{T:%Y-%m-%d %H:%M:%S}\n")
    database = f"tls_{uuid.uuid4().hex[:10]}"
    load_dataset(ACCOUNTS, source, settings, LoadOptions(database=database))
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    for mode in ("full", "cdc"):
        options = ExtractOptions(database=database, mode=mode)  # type: ignore[arg-type]
        [result] = extract_dataset(ACCOUNTS, settings, lake, options)
        assert result.reader == "pymysql" and result.status == "committed"  # connectorx takes no CA
    conn = connect(settings, database)
    with conn.cursor() as cursor:
        cursor.execute("UPDATE accounts SET note = 'over tls' WHERE id = 1")
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(database + '_x')}")
    conn.close()
    [changed] = extract_dataset(ACCOUNTS, settings, lake, ExtractOptions(database=database, mode="cdc"))
    assert (changed.mode, changed.reader, changed.rows) == ("cdc", "binlog", 1)
    assert lakebatches.read_current(lake, "shop", "accounts")["note"].to_pylist() == ["over tls"]


def test_without_tls_settings_the_link_is_encrypted_but_not_verified(tls_server: tuple[MySQLSettings, Path]) -> None:
    """PyMySQL's default (what the README states): TLS when the server offers it, unverified."""
    root, tls = tls_server
    plain = MySQLSettings.from_url(url(root.port))
    assert not plain.tls and cipher(plain)
    assert cipher(MySQLSettings.from_url(url(root.port, ssl_ca=str(tls / "ca.pem"))))


def test_a_server_certificate_from_another_ca_is_refused_in_one_clear_line(
    tls_server: tuple[MySQLSettings, Path],
) -> None:
    root, tls = tls_server
    with pytest.raises(MySQLUnavailable, match="certificate verify failed") as error:
        connect(MySQLSettings.from_url(url(root.port, ssl_ca=str(tls / "other-ca.pem"))))
    assert PASSWORD not in str(error.value) and "s3cret" not in str(error.value)
    assert "ssl_ca" in str(error.value)
    # Verification is on by default even without a CA file (the system's roots do not know ours)...
    with pytest.raises(MySQLUnavailable, match="certificate verify failed"):
        connect(MySQLSettings.from_url(url(root.port, ssl="true")))
    # ...and off only when asked.
    assert cipher(MySQLSettings.from_url(url(root.port, ssl="true", ssl_verify="false")))


def test_a_client_certificate_where_the_account_requires_one(tls_server: tuple[MySQLSettings, Path]) -> None:
    root, tls = tls_server
    ca = str(tls / "ca.pem")
    with pytest.raises(Exception, match=r"(?i)access denied"):
        connect(MySQLSettings.from_url(url(root.port, "certified", ssl_ca=ca)))
    certified = url(root.port, "certified", ssl_ca=ca, ssl_cert=str(tls / "client-cert.pem"),
                    ssl_key=str(tls / "client-key.pem"))  # fmt: skip
    assert cipher(MySQLSettings.from_url(certified))


def test_the_airflow_connection_carries_tls(
    tls_server: tuple[MySQLSettings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, tls = tls_server
    connection = {
        "conn_type": "mysql",
        "host": "127.0.0.1",
        "port": root.port,
        "login": "app",
        "password": PASSWORD,
        "extra": {"ssl": {"ca": str(tls / "ca.pem")}},
    }
    monkeypatch.setenv("AIRFLOW_CONN_LAKEHOUSE_MYSQL", json.dumps(connection))
    settings = config.mysql_settings()
    assert settings.tls and settings.ssl_ca == str(tls / "ca.pem") and settings.ssl_verify
    assert cipher(settings)
