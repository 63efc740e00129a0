"""Nothing leaks and nothing lets a peer in: passwords in URLs, key files, a hostile MySQL server,
object names from a bucket."""

from __future__ import annotations

import json
import os
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.core import lake as lakes
from ingest.core.mysql import InfileRefused, connect
from ingest.core.settings import REPO_ROOT, MySQLSettings

PASSWORD = "S3cr#t/p?w"


@pytest.mark.parametrize("url", [f"mysql://root:{PASSWORD}@127.0.0.1:3306", "mysql://root:a@b@127.0.0.1:1"])
def test_a_malformed_url_fails_in_one_line_without_the_password(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "LAKEHOUSE_MYSQL_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "ingest", "load", "--dataset", "tpch", "--source", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "percent-encode" in result.stderr and "Traceback" not in result.stderr
    for secret in ("S3cr", "p?w", "a@b"):
        assert secret not in result.stdout + result.stderr


def test_a_percent_encoded_password_is_accepted_and_never_printed(tmp_path: Path) -> None:
    encoded = PASSWORD.replace("%", "%25").replace("#", "%23").replace("/", "%2F").replace("?", "%3F")
    settings = MySQLSettings.from_url(f"mysql://nobody:{encoded}@127.0.0.1:3306")
    assert settings.password == PASSWORD and PASSWORD not in repr(settings)
    # A real server refuses the user: the error and the logs name neither password nor URL.
    env = {**os.environ, "LAKEHOUSE_MYSQL_URL": f"mysql://nobody:{encoded}@127.0.0.1:3306"}
    result = subprocess.run(
        [sys.executable, "-m", "ingest", "extract", "--dataset", "tpch", "--lake", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Access denied" in output or "nobody" in output
    assert PASSWORD not in output and encoded not in output and "S3cr" not in output


def _packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


def _read_packet(conn: socket.socket) -> tuple[int, bytes]:
    header = b""
    while len(header) < 4:
        chunk = conn.recv(4 - len(header))
        if not chunk:
            raise ConnectionError("client went away")
        header += chunk
    length = int.from_bytes(header[:3], "little")
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise ConnectionError("client went away")
        body += chunk
    return header[3], body


@pytest.fixture()
def hostile_server() -> Iterator[tuple[int, list[bytes]]]:
    """A fake MySQL server on 127.0.0.1 that answers the client's first `SET SESSION sql_mode` with a
    LOAD DATA LOCAL request for a key file of its choosing, and records what comes back. (Plain
    PyMySQL with local_infile sends it the key.)"""
    with tempfile.NamedTemporaryFile(prefix="service-account-", suffix=".json", delete=False) as secret:
        secret.write(b'{"private_key": "-----BEGIN PRIVATE KEY-----"}')
    received: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            capabilities = 0xF7FF | (1 << 19) | (1 << 9) | (1 << 15)  # with CLIENT_LOCAL_FILES, PROTOCOL_41
            greeting = (
                b"\x0a" + b"5.7.0-hostile\x00" + struct.pack("<I", 1) + b"abcdefgh\x00"
                + struct.pack("<H", capabilities & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
                + struct.pack("<H", capabilities >> 16) + b"\x15" + b"\x00" * 10 + b"ijklmnopqrst\x00"
                + b"mysql_native_password\x00"
            )  # fmt: skip
            conn.sendall(_packet(0, greeting))
            _read_packet(conn)  # the login; any password will do
            conn.sendall(_packet(2, b"\x00\x00\x00\x02\x00\x00\x00"))  # OK
            try:
                while True:
                    sequence, body = _read_packet(conn)
                    if body[:1] == b"\x03" and b"sql_mode" in body:  # answer "send me this file" (0xFB, name)
                        conn.sendall(_packet(sequence + 1, b"\xfb" + secret.name.encode()))
                        continue
                    if body[:1] == b"\x03":  # any other query (SET NAMES at connect): OK
                        conn.sendall(_packet(sequence + 1, b"\x00\x00\x00\x02\x00\x00\x00"))
                        continue
                    received.append(body)  # whatever the client sends as the file
                    if body == b"":  # end of the file's data: OK
                        conn.sendall(_packet(sequence + 1, b"\x00\x00\x00\x02\x00\x00\x00"))
            except (ConnectionError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, received
    finally:
        listener.close()
        thread.join(timeout=5)
        os.unlink(secret.name)


@pytest.mark.parametrize("local_infile", [True, False], ids=["loading-connection", "any-connection"])
def test_a_hostile_server_gets_no_file(hostile_server: tuple[int, list[bytes]], local_infile: bool) -> None:
    port, received = hostile_server
    with pytest.raises(InfileRefused, match="refused the server's request for local file"):
        connect(MySQLSettings(host="127.0.0.1", port=port, user="x", password="y"), local_infile=local_infile)
    assert all(b"PRIVATE KEY" not in body for body in received)
    assert received == [b""]  # only the empty packet that ends a refused request


def test_object_names_that_leave_the_folder_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    assert lakes.local_path_for(root, "a/index.html") == root / "a" / "index.html"
    for name in ("../../../x", "a/../../x", "/etc/passwd", "a//b", "./a", "", "a\\..\\b"):
        with pytest.raises(lakes.LakeError, match="refusing object name"):
            lakes.local_path_for(root, name)


def test_a_key_from_a_connection_lives_in_a_private_file_for_one_block(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from orchestration import config

    key = {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n"}
    connection = {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": key}}
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", json.dumps(connection))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with config.google_credentials() as env:
        path = Path(env["GOOGLE_APPLICATION_CREDENTIALS"])
        assert json.loads(path.read_text()) == key
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not path.exists() and list(tmp_path.iterdir()) == []
    # Also when the task fails inside the block.
    with pytest.raises(RuntimeError), config.google_credentials() as env:
        raise RuntimeError("the task failed")
    assert list(tmp_path.iterdir()) == []


def test_an_extract_task_leaves_no_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from orchestration import tasks

    connection = {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": {"private_key": "k"}}}
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("LAKEHOUSE_MYSQL_URL", "mysql://root@127.0.0.1:1")  # the task fails: no server
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(Exception, match="cannot reach MySQL"):
        tasks.extract_table("tpch", "region")
    assert list(tmp_path.iterdir()) == []
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in os.environ


def test_the_fake_server_does_get_the_key_from_plain_pymysql(hostile_server: tuple[int, list[bytes]]) -> None:
    """The control: PyMySQL as it ships, with local_infile on, sends the file the server names."""
    import pymysql

    port, received = hostile_server
    plain = pymysql.connect(host="127.0.0.1", port=port, user="x", password="y", local_infile=True)
    try:
        plain.cursor().execute("SET SESSION sql_mode = ''")
    finally:
        plain.close()
    assert any(b"PRIVATE KEY" in body for body in received)
