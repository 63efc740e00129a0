"""Change data capture from the MySQL/MariaDB binary log, for `extract --mode cdc`.

The server must log row images with their column names: `log_bin` on, `binlog_format=ROW`,
`binlog_row_image=FULL`, `binlog_row_metadata=FULL` (the project's private MariaDB,
`scripts/mysql-local.sh`, runs so), and the user needs REPLICATION SLAVE and REPLICATION CLIENT.

A table's first cdc batch is a full snapshot that records the binlog position taken *before* its
read. Each later batch holds, for every key the log shows changed between the position recorded by
the newest batch and the server's position when the run started, its final image (or a tombstone
for a delete; an update that changes the key is a tombstone plus a row). Replaying events the
snapshot already saw is harmless: a key's final image in the log is its state at the end position,
and readers keep the newest version of each key. On MariaDB the snapshot's position is the one
InnoDB reports for a consistent snapshot (`binlog_snapshot_file/position`): every transaction
before it is visible to the read, even one whose binlog write raced its commit.

A statement that replaces the table's rows without row events, such as the loader's `RENAME TABLE`
swap, `TRUNCATE`, `DROP`/`CREATE` or `ALTER` naming the table, cannot be replayed: the run then
takes a full snapshot and says why. The end position goes into the batch's manifest,
so it moves only with a committed batch: exactly once per committed batch. Unlike the look-back
mode, this sees every update whatever its stamp, and costs one pass over the log since the last
batch (no scan of the table). If the server has purged the log file a position needs, the run
takes a full snapshot instead and says so.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from pymysql.connections import Connection

from ingest.core.contract import Table
from ingest.core.errors import DataError
from ingest.core.settings import MySQLSettings
from ingest.extract.batches import BinlogPosition
from ingest.extract.mysql_arrow import arrow_schema, column_array

REQUIRED = {"log_bin": "1", "binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL"}


class CdcUnavailable(DataError):
    """The server cannot serve change data capture; the message says what to set."""


def check_server(conn: Connection) -> None:  # type: ignore[type-arg]
    """Fail with the settings to change when the server's binary log cannot serve cdc."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata")
        row = cursor.fetchone()
    values = dict(zip(REQUIRED, [str(v).upper() if v is not None else "" for v in (row or ())], strict=False))
    wrong = [f"{name}={want}" for name, want in REQUIRED.items() if values.get(name) not in (want, "ON")]
    if wrong:
        raise CdcUnavailable(
            "--mode cdc needs the binary log with full row images and column names; set in the server's "
            f"configuration: {', '.join(wrong)} (and server-id), or use --mode incremental"
        )


def current_position(conn: Connection) -> BinlogPosition:  # type: ignore[type-arg]
    """Where the binary log ends now, at a transaction boundary that a read started afterwards
    sees whole (MariaDB: the position of a consistent snapshot; MySQL: SHOW MASTER STATUS)."""
    with conn.cursor() as cursor:
        cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        cursor.execute("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
        status = {str(name).lower(): value for name, value in cursor.fetchall()}
        cursor.execute("COMMIT")
        if status.get("binlog_snapshot_file"):
            return BinlogPosition(
                file=str(status["binlog_snapshot_file"]), position=int(status["binlog_snapshot_position"])
            )
        cursor.execute("SHOW MASTER STATUS")
        row = cursor.fetchone()
    if not row:
        raise CdcUnavailable("SHOW MASTER STATUS returned nothing: is the binary log on (log_bin)?")
    return BinlogPosition(file=str(row[0]), position=int(row[1]))


def still_available(conn: Connection, position: BinlogPosition) -> bool:  # type: ignore[type-arg]
    """Whether the server still holds the log file a position is in (not purged)."""
    with conn.cursor() as cursor:
        cursor.execute("SHOW BINARY LOGS")
        return position.file in {str(row[0]) for row in cursor.fetchall()}


@dataclass
class LogChanges:
    """What the log says happened to one table between two positions."""

    final: dict[tuple[object, ...], dict[str, object] | None] = field(default_factory=dict)  # None: deleted
    events: int = 0  # row images read
    replaced: str | None = None  # a statement that replaced the rows without row events


_DDL = re.compile(r"^\s*(?:/\*.*?\*/\s*)*(rename|truncate|drop|create|alter|load)\b", re.IGNORECASE | re.DOTALL)


def _names_table(query: str, table: str) -> bool:
    """Whether a DDL statement names the table (quoted or not; a longer name does not count)."""
    return re.search(rf"(?<![\w$])`?{re.escape(table)}`?(?![\w$])", query, re.IGNORECASE) is not None


def changes(
    settings: MySQLSettings, database: str, table: Table, start: BinlogPosition, end: BinlogPosition
) -> LogChanges:
    """Each changed key's final image between two positions (or the statement that replaced the rows)."""
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.event import QueryEvent
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    connection = {"host": settings.host, "port": settings.port, "user": settings.user, "password": settings.password}
    if settings.unix_socket:
        connection["unix_socket"] = settings.unix_socket
    if settings.tls:
        connection["ssl"] = settings.ssl_context()
    stream = BinLogStreamReader(
        connection_settings=connection,
        server_id=secrets.randbelow(2**31 - 1000) + 1000,  # a replica id of its own per reader
        resume_stream=True,
        log_file=start.file,
        log_pos=start.position,
        blocking=False,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, QueryEvent],
        only_schemas=[database],
        only_tables=[table.name],
        enable_logging=False,
    )
    key = list(table.primary_key)
    found = LogChanges()
    final = found.final
    try:
        for event in stream:
            if (stream.log_file, event.packet.log_pos) > end.key():
                break  # past the end position fixed when the run started
            if isinstance(event, QueryEvent):
                query = str(event.query)
                if _DDL.match(query) and _names_table(query, table.name):
                    found.replaced = f"`{' '.join(query.split())[:120]}` at {stream.log_file}:{event.packet.log_pos}"
                    break
                continue
            for row in event.rows:
                found.events += 1
                if isinstance(event, WriteRowsEvent):
                    final[tuple(row["values"][k] for k in key)] = row["values"]
                elif isinstance(event, DeleteRowsEvent):
                    final[tuple(row["values"][k] for k in key)] = None
                else:
                    before = tuple(row["before_values"][k] for k in key)
                    after = tuple(row["after_values"][k] for k in key)
                    if before != after:
                        final[before] = None
                    final[after] = row["after_values"]
    finally:
        stream.close()
    return found


def as_batches(table: Table, final: dict[tuple[object, ...], dict[str, object] | None]) -> Iterator[pa.RecordBatch]:
    """The final images as record batches in the contract's types (tombstones apart: `deleted_keys`)."""
    schema = arrow_schema(table)
    images = [image for image in final.values() if image is not None]
    for start in range(0, len(images), 65_536):
        chunk = images[start : start + 65_536]
        arrays = [column_array([image[f.name] for image in chunk], f) for f in schema]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def deleted_keys(table: Table, final: dict[tuple[object, ...], dict[str, object] | None]) -> pa.Table:
    """The keys whose final state is deleted."""
    key = list(table.primary_key)
    gone = [k for k, image in final.items() if image is None]
    schema = arrow_schema(table)
    return pa.table({name: column_array([k[i] for k in gone], schema.field(name)) for i, name in enumerate(key)})
