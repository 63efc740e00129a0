"""A real GCS JSON API on 127.0.0.1 for the tests: `gcp-storage-emulator`, one process per session.

The extractor talks to it through the real google-cloud-storage client, exactly as it talks to
GCS, with `STORAGE_EMULATOR_HOST` set and anonymous credentials.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.net import free_port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gcp-storage-emulator exited with code {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"gcp-storage-emulator did not open port {port} within {seconds} s")


@dataclass(frozen=True)
class Emulator:
    host: str  # http://127.0.0.1:PORT, the value of STORAGE_EMULATOR_HOST

    def client(self) -> Any:
        """A client of the emulator (anonymous, project 'test'), as the extractor builds it."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="test",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": self.host},
        )


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """Start `gcp-storage-emulator -d DIR start --host 127.0.0.1 --port PORT` for the session."""
    tool = Path(sys.executable).parent / "gcp-storage-emulator"
    if not tool.exists():
        pytest.fail("gcp-storage-emulator is not installed in the virtualenv (requirements.txt)")
    port = free_port()
    data = tmp_path_factory.mktemp("gcs")
    log = (data.parent / "gcs-emulator.log").open("wb")
    command = [str(tool), "-d", str(data), "start", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process)
        yield Emulator(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture()
def gcs_bucket(gcs_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh bucket on the emulator, with STORAGE_EMULATOR_HOST set for the test."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.host)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    name = f"lake-{uuid.uuid4().hex[:12]}"
    gcs_emulator.client().create_bucket(name)
    yield name
