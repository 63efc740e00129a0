"""The lake: a local folder (`file://`) or a Google Cloud Storage prefix (`gs://BUCKET/PREFIX`).

One small switch on the URI's scheme rather than a class tree. Everything above this module speaks
in *keys*: POSIX paths relative to the lake's root, such as `raw/tpch/orders/batch=.../part-00000.parquet`.

Writing always starts on local disk: Parquet is written to a staging folder, then published.
- `file://`: the staging folder lives inside the lake (`<lake>/_staging/`, outside `raw/`), so
  publishing a batch is one atomic `rename` of a folder that already holds its manifest.
- `gs://`: files are uploaded one by one through the google-cloud-storage client (resumable
  uploads above 8 MiB, retried with exponential backoff on transient errors) and each upload is
  verified against the CRC32C and MD5 that GCS reports. The manifest goes up last. pyarrow's own
  GcsFileSystem is not used: it hangs against the emulator (STACK-NOTES).

Credentials: `GOOGLE_APPLICATION_CREDENTIALS` (a service-account key file) or application default
credentials. With `STORAGE_EMULATOR_HOST` set, the same client talks to an emulator anonymously.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import google_crc32c

from ingest.core.errors import DataError
from ingest.core.settings import local_dir, settings

UPLOAD_ATTEMPTS = 3  # whole-object attempts when a checksum does not match (transport retries are inside each)
UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024  # resumable upload chunk; the client retries chunk by chunk
GCS_TIMEOUT = 60.0  # seconds per HTTP request


class LakeError(DataError):
    """The lake cannot be reached, read or written; the message says what to do next."""


@dataclass
class Lake:
    """A parsed lake URI. `root` is set for `file://`, `bucket`/`prefix` (and a client) for `gs://`."""

    uri: str
    scheme: str
    root: Path | None = None
    bucket: str = ""
    prefix: str = ""
    _client: Any = field(default=None, repr=False)


def default_lake_uri() -> str:
    """The configured lake: `LAKEHOUSE_LAKE_URI`, else `<LAKEHOUSE_LOCAL_DIR or <repo>/.local>/lake`."""
    return resolve_lake_uri(None)


def resolve_lake_uri(given: str | None) -> str:
    """The one rule that turns what a user wrote into the lake's canonical URI.

    `given` (or `LAKEHOUSE_LAKE_URI`, else `<LAKEHOUSE_LOCAL_DIR>/lake`) may be `gs://BUCKET/PREFIX`,
    `file:///abs/path` (percent-encoded) or a plain path (relative paths are taken from the current
    folder; symlinks are kept as written). The result is `gs://bucket/prefix` or a percent-encoded
    `file:///abs/path`: the lake's identity in audit tables and assets. dbt applies the same rule
    in `dbt_project/macros/lake/lake_root.sql`, held to it by a test.
    """
    return parse_lake(given or settings().lake_uri or str(local_dir() / "lake")).uri


# Characters a lake path may not hold: they would end the SQL string literal dbt and Spark put it in.
_UNSAFE = re.compile(r"['\\\x00-\x1f\x7f]")


def parse_lake(uri: str) -> Lake:
    """Validate a lake URI: `file:///abs/path`, a plain path, or `gs://bucket[/prefix]`."""
    if _UNSAFE.search(uri):  # before urlsplit, which silently drops tabs and newlines
        raise LakeError(f"lake URI {uri!r} may not contain single quotes, backslashes or control characters")
    parts = urlsplit(uri)
    if parts.scheme == "gs":
        bucket, prefix = parts.netloc, parts.path.strip("/")
        if not bucket:
            raise LakeError(f"lake URI {uri!r} names no bucket; use gs://BUCKET/PREFIX")
        if ".." in PurePosixPath(prefix).parts or parts.query or parts.fragment or _UNSAFE.search(prefix):
            raise LakeError(f"lake URI {uri!r}: the prefix may not contain '..', '?', '#', quotes or backslashes")
        clean = f"gs://{bucket}/{prefix}".rstrip("/")
        return Lake(uri=clean, scheme="gs", bucket=bucket, prefix=prefix)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or "?" in uri or "#" in uri or not parts.path.startswith("/"):
            raise LakeError(
                f"lake URI {uri!r} is not file:///absolute/path: percent-encode '#' as %23 and '?' as %3F, "
                "or give a plain path"
            )
        raw = unquote(parts.path)
    elif not parts.scheme:
        raw = uri  # a plain path: '#', '?' and '%' are part of it
    else:
        raise LakeError(f"unsupported lake URI {uri!r}: use file:///path/to/folder, a path, or gs://BUCKET/PREFIX")
    if not raw:
        raise LakeError(f"lake URI {uri!r} names no folder")
    if _UNSAFE.search(raw):
        raise LakeError(f"lake path {raw!r} may not contain single quotes, backslashes or control characters")
    root = Path("/" + os.path.abspath(os.path.expanduser(raw)).lstrip("/"))  # POSIX keeps a leading '//'
    return Lake(uri=root.as_uri(), scheme="file", root=root)


def spark_location(lake: Lake) -> str:
    """The lake as Spark and Hadoop want it: `gs://bucket/prefix`, or `file://` and the plain
    absolute path (Hadoop escapes the path itself: a percent-encoded one would be escaped twice)."""
    return lake.uri if lake.scheme == "gs" else f"file://{lake.root}"


def location_setting(lake: Lake) -> str:
    """What to put in LAKEHOUSE_LAKE_URI for another process (dbt, a task): the plain absolute path
    of a local lake (dbt's Jinja cannot decode UTF-8 percent escapes), the URI of a bucket."""
    return lake.uri if lake.scheme == "gs" else str(lake.root)


def url(lake: Lake, key: str) -> str:
    """The full address of a key, e.g. for DuckDB or Spark (`/abs/path/...` or `gs://b/p/...`)."""
    if lake.scheme == "file":
        return str(_path(lake, key))
    return f"gs://{lake.bucket}/{_blob_name(lake, key)}"


# -- local helpers ----------------------------------------------------------------------


def _path(lake: Lake, key: str) -> Path:
    assert lake.root is not None
    return lake.root / key


def _blob_name(lake: Lake, key: str) -> str:
    return f"{lake.prefix}/{key}" if lake.prefix else key


def staging_root(lake: Lake) -> Path:
    """Where batches are written before they are published (same file system as a local lake)."""
    if lake.scheme == "file":
        return _path(lake, "_staging")
    digest = hashlib.sha1(lake.uri.encode()).hexdigest()[:12]
    return local_dir() / "staging" / f"gcs-{lake.bucket}-{digest}"


def file_checksums(path: Path, *, md5: bool = True) -> tuple[str, str | None]:
    """Base64 CRC32C (and MD5) of a file, in the encoding GCS reports in object metadata."""
    crc = google_crc32c.Checksum()  # type: ignore[no-untyped-call]
    digest = hashlib.md5(usedforsecurity=False) if md5 else None
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            crc.update(chunk)  # type: ignore[no-untyped-call]
            if digest is not None:
                digest.update(chunk)
    crc_b64 = base64.b64encode(crc.digest()).decode()  # type: ignore[no-untyped-call]
    return crc_b64, base64.b64encode(digest.digest()).decode() if digest is not None else None


# -- Google Cloud Storage ----------------------------------------------------------------


def _client(lake: Lake) -> Any:
    """The storage client, created on first use: anonymous for an emulator, else ADC."""
    if lake._client is not None:
        return lake._client
    from google.auth.credentials import AnonymousCredentials
    from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
    from google.cloud import storage  # type: ignore[attr-defined]  # (types-protobuf may shadow the namespace)

    project = settings().google_cloud_project
    try:
        if settings().storage_emulator_host:
            lake._client = storage.Client(
                project=project or "test",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            )
        else:
            lake._client = storage.Client(project=project)
    except DefaultCredentialsError as exc:
        raise LakeError(
            f"no Google Cloud credentials for {lake.uri}: {exc}. Set GOOGLE_APPLICATION_CREDENTIALS to a "
            "service-account key file, or run `gcloud auth application-default login`; for a local "
            "emulator set STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT."
        ) from exc
    except GoogleAuthError as exc:
        raise LakeError(f"cannot authenticate to Google Cloud Storage for {lake.uri}: {exc}") from exc
    return lake._client


def _retry() -> Any:
    """Exponential backoff (1 s doubling to 16 s, 120 s in all) on 408/429/5xx and connection errors."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_delay(initial=1.0, multiplier=2.0, maximum=16.0).with_timeout(120.0)


def _gcs_error(lake: Lake, exc: BaseException, action: str) -> LakeError:
    """Turn a client exception into a message that says what to do next."""
    from google.api_core import exceptions as api

    where = lake.uri
    if isinstance(exc, api.NotFound):
        return LakeError(
            f"{action} {where}: bucket {lake.bucket!r} does not exist (or is not visible). Create it, "
            "or fix the bucket name in --lake / LAKEHOUSE_LAKE_URI."
        )
    if isinstance(exc, api.Forbidden | api.Unauthorized):
        return LakeError(
            f"{action} {where}: access denied ({exc.message}). Grant the service account "
            "roles/storage.objectAdmin on the bucket, or use other credentials."
        )
    host = settings().storage_emulator_host or "storage.googleapis.com"
    return LakeError(f"{action} {where}: cannot reach Google Cloud Storage at {host} ({type(exc).__name__}: {exc})")


def _gcs_call(lake: Lake, action: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one client call, mapping its failures to LakeError."""
    from google.api_core import exceptions as api
    from google.auth.exceptions import GoogleAuthError
    from requests import RequestException

    try:
        return function(*args, **kwargs)
    except (api.GoogleAPIError, GoogleAuthError, RequestException, ConnectionError) as exc:
        raise _gcs_error(lake, exc, action) from exc


def _upload(lake: Lake, local: Path, key: str) -> None:
    """Upload one file, verify its checksums against what GCS stored, retry a mismatch."""
    from google.cloud.storage.exceptions import DataCorruption

    crc, md5 = file_checksums(local)
    bucket = _client(lake).bucket(lake.bucket)
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        blob = bucket.blob(_blob_name(lake, key), chunk_size=UPLOAD_CHUNK_BYTES)
        try:
            _gcs_call(
                lake,
                "upload to",
                blob.upload_from_filename,
                str(local),
                checksum="crc32c",
                retry=_retry(),
                timeout=GCS_TIMEOUT,
            )
        except LakeError as exc:
            if not isinstance(exc.__cause__, DataCorruption) or attempt == UPLOAD_ATTEMPTS:
                raise
            continue
        if blob.crc32c is None:
            _gcs_call(lake, "read back", blob.reload, retry=_retry(), timeout=GCS_TIMEOUT)
        if blob.crc32c == crc and (blob.md5_hash is None or blob.md5_hash == md5):
            return
    raise LakeError(
        f"upload of {local.name} to {url(lake, key)} kept failing its checksum check "
        f"({UPLOAD_ATTEMPTS} attempts); the batch was not committed"
    )


# -- operations on keys ------------------------------------------------------------------


def check(lake: Lake) -> None:
    """Fail early and clearly when the lake cannot be used (missing bucket, no credentials, ...)."""
    if lake.scheme == "file":
        assert lake.root is not None
        try:
            lake.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LakeError(f"cannot create the lake folder {lake.root}: {exc}") from exc
        if not os.access(lake.root, os.W_OK):
            raise LakeError(f"the lake folder {lake.root} is not writable")
        return
    client = _client(lake)
    # One short listing: needs only storage.objects.list, and fails fast (no retry) when unreachable.
    pages = _gcs_call(
        lake,
        "cannot list",
        client.list_blobs,
        lake.bucket,
        prefix=_blob_name(lake, ""),
        max_results=1,
        retry=None,
        timeout=15,
    )
    _gcs_call(lake, "cannot list", list, pages)


def list_files(lake: Lake, prefix: str) -> dict[str, int]:
    """Every file under `prefix` (a folder key) with its size, keyed relative to the lake root."""
    prefix = prefix.strip("/") + "/"
    if lake.scheme == "file":
        base = _path(lake, prefix)
        if not base.is_dir():
            return {}
        assert lake.root is not None
        return {p.relative_to(lake.root).as_posix(): p.stat().st_size for p in base.rglob("*") if p.is_file()}
    skip = len(_blob_name(lake, ""))
    blobs = _gcs_call(
        lake,
        "cannot list",
        _client(lake).list_blobs,
        lake.bucket,
        prefix=_blob_name(lake, prefix),
        retry=_retry(),
        timeout=GCS_TIMEOUT,
    )
    return {blob.name[skip:]: int(blob.size or 0) for blob in _gcs_call(lake, "cannot list", list, blobs)}


def read_bytes(lake: Lake, key: str) -> bytes:
    if lake.scheme == "file":
        return _path(lake, key).read_bytes()
    blob = _client(lake).bucket(lake.bucket).blob(_blob_name(lake, key))
    data: bytes = _gcs_call(lake, "cannot read", blob.download_as_bytes, retry=_retry(), timeout=GCS_TIMEOUT)
    return data


def open_input(lake: Lake, key: str) -> BinaryIO:
    """A seekable reader of one file: Parquet readers fetch only the footer and the column chunks
    they need (ranged reads on GCS through the storage client)."""
    if lake.scheme == "file":
        return _path(lake, key).open("rb")
    blob = _client(lake).bucket(lake.bucket).blob(_blob_name(lake, key))
    try:
        reader: BinaryIO = blob.open("rb", chunk_size=UPLOAD_CHUNK_BYTES, retry=_retry())
    except Exception as exc:  # mapped to a LakeError that says what to do
        raise _gcs_error(lake, exc, "cannot read") from exc
    return reader


def delete(lake: Lake, keys: list[str]) -> None:
    """Delete files (a missing one is fine: deleting is what a re-run after a kill does too)."""
    if lake.scheme == "file":
        for key in keys:
            _path(lake, key).unlink(missing_ok=True)
        return
    from google.api_core.exceptions import NotFound

    bucket = _client(lake).bucket(lake.bucket)
    for key in keys:
        try:
            bucket.blob(_blob_name(lake, key)).delete(retry=_retry(), timeout=GCS_TIMEOUT)
        except NotFound:
            continue
        except Exception as exc:  # mapped to a LakeError that says what to do
            raise _gcs_error(lake, exc, "cannot delete from") from exc


def delete_folder(lake: Lake, prefix: str) -> None:
    """Delete everything under a folder key."""
    if lake.scheme == "file":
        shutil.rmtree(_path(lake, prefix), ignore_errors=True)
        return
    delete(lake, sorted(list_files(lake, prefix)))


def publish(lake: Lake, staging: Path, prefix: str, last: str) -> None:
    """Make a staged folder visible at `prefix`, its file `last` (the manifest) strictly last.

    Local lake: one atomic rename of the whole folder. GCS: uploads, the manifest after every
    data file has been uploaded and verified, so a failure or a kill leaves no manifest.
    """
    if lake.scheme == "file":
        target = _path(lake, prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, target)  # atomic on one file system; fails if the target exists
        return
    files = sorted(p for p in staging.rglob("*") if not p.is_dir())  # an unreadable entry fails, never skips
    ordered = [p for p in files if p.name != last] + [staging / last]
    for path in ordered:
        _upload(lake, path, f"{prefix}/{path.relative_to(staging).as_posix()}")
    shutil.rmtree(staging, ignore_errors=True)


def local_path_for(root: Path, key: str) -> Path:
    """Where an object named `key` goes under the local folder `root`, refusing any name that would
    land outside it (`..`, an absolute name, empty parts): a bucket's object names are not trusted."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
        raise LakeError(f"refusing object name {key!r}: it does not name a file inside {root}")
    path = root.joinpath(*parts)
    if not path.resolve().is_relative_to(root.resolve()):
        raise LakeError(f"refusing object name {key!r}: it leads outside {root}")
    return path
