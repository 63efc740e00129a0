"""A TCP proxy to a MySQL server that goes away once, as a server restart would, run as its own
process (`python -m tests.flaky_mysql HOST PORT HEALTHY OUTAGE`; it prints its port, then one
line per outage). Its own process: connectorx holds the GIL while it waits for a connection, so
an in-process proxy would never answer it."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time


class FlakyMySQL:
    """A TCP proxy to the real server. After `healthy_connections` connections it goes down:
    it cuts every open connection and refuses new ones for `outage` seconds, then forwards again."""

    def __init__(self, target: tuple[str, int], healthy_connections: int, outage: float) -> None:
        self.target = target
        self.healthy = healthy_connections
        self.outage = outage
        self.connections = 0
        self.down_until = 0.0
        self.outages = 0
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def serve(self) -> None:
        self._accept()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                if self.connections == self.healthy + 1:  # MySQL goes away, mid-task
                    self.down_until, self.outages = time.monotonic() + self.outage, self.outages + 1
                    print("outage", flush=True)
                    for sock in self.open:
                        _cut(sock)
                    self.open.clear()
                if time.monotonic() < self.down_until:
                    _cut(client)
                    continue
                server = socket.create_connection(self.target)
                self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for sock in self.open:
                _cut(sock)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _cut(sink)


if __name__ == "__main__":
    host, port, healthy, outage = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    proxy = FlakyMySQL((host, port), healthy, outage)
    print(proxy.port, flush=True)
    proxy.serve()
