"""Configuration resolved from the environment, with the embedded defaults of a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from ssl import CERT_NONE, SSLContext, create_default_context
from urllib.parse import parse_qs, unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
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
        return cls.from_url(os.environ.get("LAKEHOUSE_MYSQL_URL", DEFAULT_MYSQL_URL))

    def __str__(self) -> str:
        secret = ":***" if self.password else ""
        options = [f"unix_socket={self.unix_socket}"] if self.unix_socket else []
        if self.tls:
            options.append("tls" + ("" if self.ssl_verify else ", unverified"))
        where = f"?{'&'.join(options)}" if options else ""
        return f"mysql://{self.user}{secret}@{self.host}:{self.port}{where}"

    __repr__ = __str__
