"""Configuration resolved from the environment, with the embedded defaults of a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306"


def local_dir() -> Path:
    """Where the embedded defaults keep their state (`<repo>/.local`, or LAKEHOUSE_LOCAL_DIR)."""
    return Path(os.environ.get("LAKEHOUSE_LOCAL_DIR", REPO_ROOT / ".local"))


def quarantine_dir() -> Path:
    return Path(os.environ.get("LAKEHOUSE_QUARANTINE_DIR", local_dir() / "quarantine"))


def audit_database() -> str:
    return os.environ.get("LAKEHOUSE_AUDIT_DB", "lakehouse_audit")


@dataclass(frozen=True)
class MySQLSettings:
    """Where MySQL is. The password never appears in `str()`/`repr()` or in logs."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    unix_socket: str | None = None

    @classmethod
    def from_url(cls, url: str) -> MySQLSettings:
        """Parse `mysql://user:password@host:port[?unix_socket=/path]`; user and password may be
        percent-encoded (`/` as %2F, `?` as %3F, `#` as %23, `@` as %40, `:` as %3A, `%` as %25).

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
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - {"unix_socket"})
        if unknown:
            raise ValueError(problem.format(f"unknown option(s) {unknown}"))
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            unix_socket=query.get("unix_socket", [None])[0],
        )

    @classmethod
    def from_env(cls) -> MySQLSettings:
        return cls.from_url(os.environ.get("LAKEHOUSE_MYSQL_URL", DEFAULT_MYSQL_URL))

    def __str__(self) -> str:
        secret = ":***" if self.password else ""
        where = f"?unix_socket={self.unix_socket}" if self.unix_socket else ""
        return f"mysql://{self.user}{secret}@{self.host}:{self.port}{where}"

    __repr__ = __str__
