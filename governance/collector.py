"""A stand-in for DataHub's metadata service (GMS) on 127.0.0.1, for laptops and tests.

DataHub's Airflow plugin sends what DAG runs do (DAGs, tasks, task runs, their Assets) to a DataHub
server through DataHub's REST emitter. Where no server runs, this collector answers that protocol
(`GET /config`, `POST /aspects?action=ingestProposal`, `ingestProposalBatch`, `/entities?action=ingest`)
and appends every proposal to a JSON-lines file, which the governance step merges into the metadata
file and DataHub Lite. (The plugin's own `datahub-file` connection rewrites its whole file on every
record: 600 records took 45 s here, a pipeline run emits thousands.) Production points the plugin
at a real GMS instead (a `datahub-rest` connection).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ingest.core.settings import settings

# What the emitter checks before it sends anything: that it talks to GMS (not DataHub's frontend).
SERVER_CONFIG = {"noCode": "true", "versions": {"acryldata/datahub": {"version": "v1.2.0"}}}


class _Handler(BaseHTTPRequestHandler):
    server: _Collector
    # Keep-alive, without Nagle's delay on the reply: the plugin sends thousands of small requests a run.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") == "/config":
            self._reply(200, SERVER_CONFIG)
        else:
            self._reply(404, {"message": f"not served here: {self.path}"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if "action=ingestProposalBatch" in self.path:
            records = [{"proposal": p} for p in body.get("proposals", [])]
        elif "action=ingestProposal" in self.path:
            records = [{"proposal": body["proposal"]}]
        elif "action=ingest" in self.path and self.path.startswith("/entities"):
            records = [{"entity": body["entity"]}]
        else:
            self._reply(404, {"message": f"not served here: {self.path}"})
            return
        self.server.append(records)
        self._reply(200, {"value": ""})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Collector(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, path: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.path = path
        self.lock = threading.Lock()

    def append(self, records: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(record) + "\n" for record in records)
        with self.lock, self.path.open("a", encoding="utf-8") as out:
            out.write(lines)


@contextmanager
def collecting(path: Path) -> Iterator[str]:
    """Serve the collector while the block runs, appending to `path`; yields its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    server = _Collector(path)
    thread = threading.Thread(target=server.serve_forever, name="datahub-collector", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def plugin_environment(url: str, path: Path) -> dict[str, str]:
    """The environment that points DataHub's Airflow plugin at the collector at `url`, and the
    governance step at the file it fills."""
    connection = {"conn_type": "datahub-rest", "host": url}
    return {
        "AIRFLOW__DATAHUB__ENABLED": "True",
        "AIRFLOW__DATAHUB__CONN_ID": "datahub_rest_default",
        "AIRFLOW_CONN_DATAHUB_REST_DEFAULT": json.dumps(connection),
        "LAKEHOUSE_AIRFLOW_METADATA": str(path),
    }


def airflow_metadata_file() -> Path | None:
    """The file the collector fills for this pipeline (LAKEHOUSE_AIRFLOW_METADATA), if any."""
    return settings().airflow_metadata


def read_collected(path: Path) -> list[dict[str, Any]]:
    """What the collector received, as records of DataHub's file format (the metadata file's)."""
    from datahub.emitter.mcp import MetadataChangeProposalWrapper
    from datahub.metadata.schema_classes import MetadataChangeEventClass, MetadataChangeProposalClass

    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            item = json.loads(line)
            if "proposal" in item:
                proposal = MetadataChangeProposalClass.from_obj(item["proposal"])
                wrapped = MetadataChangeProposalWrapper.try_from_mcpc(proposal)
                records.append(wrapped.to_obj(simplified_structure=True) if wrapped else proposal.to_obj())
            else:
                records.append(MetadataChangeEventClass.from_obj(item["entity"]).to_obj())
    return records
