"""The lake's URI rule (ingest/core/lake.py, README's LAKEHOUSE_LAKE_URI row): what a user writes (a
plain path, file:///, gs://) becomes one canonical URI that parses back to the same place; what would
end the SQL string literal dbt and Spark put the lake in is refused. Only temporary folders are touched."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import google_crc32c
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.core import lake as lakes
from ingest.core.lake import LakeError, parse_lake, resolve_lake_uri

REFUSED_MESSAGE = "may not contain single quotes, backslashes or control characters"
KEY = "raw/tpch/orders/batch=1/part-00000.parquet"

# Path characters the rule must carry through: spaces, '#', '%', '?' and other URI delimiters, non-ASCII.
# Left out: '/', the refused ones (quote, backslash, controls), and '"' (see the report of this change).
SAFE = st.one_of(
    st.sampled_from(" #%?&;=+@:,~é日"),
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/'\\\""),
)
SEGMENTS = st.text(SAFE, min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
PATHS = st.lists(SEGMENTS, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))
REFUSED = st.sampled_from(["'", "\\", "\x7f", *map(chr, range(0x20))])

BUCKETS = st.from_regex(r"[a-z0-9][a-z0-9._-]{1,20}[a-z0-9]", fullmatch=True)
PREFIX_SEGMENTS = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/?#'\\\""), min_size=1, max_size=8
).filter(lambda s: s not in (".", ".."))
PREFIXES = st.lists(PREFIX_SEGMENTS, max_size=4).map("/".join)


# -- plain paths and file:// URIs ----------------------------------------------------------


@given(PATHS)
@example("/srv/my lake #1/100% done?")
@example("/srv/a%41b")  # a plain path keeps '%41' as written
def test_a_plain_path_resolves_to_a_file_uri_that_parses_back_to_it(path: str) -> None:
    lake = parse_lake(path)
    assert lake.scheme == "file"
    assert lake.root == Path(path)
    parts = urlsplit(lake.uri)
    assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == ("file", "", "", "")
    assert unquote(parts.path) == path  # the same path, percent-encoded
    assert not {" ", "#", "?"} & set(lake.uri)
    again = parse_lake(lake.uri)
    assert (again.root, again.uri) == (lake.root, lake.uri)
    assert resolve_lake_uri(path) == lake.uri == resolve_lake_uri(lake.uri)
    # What other processes are given: the plain path for dbt, file:// and the plain path for Spark.
    assert lakes.location_setting(lake) == path
    assert lakes.spark_location(lake) == f"file://{path}"
    assert lakes.url(lake, KEY) == f"{path}/{KEY}"


@given(PATHS, st.sampled_from(["file://", "file://localhost"]))
def test_a_percent_encoded_file_uri_names_the_decoded_path(path: str, authority: str) -> None:
    lake = parse_lake(authority + quote(path))
    assert lake.root == Path(path)
    assert lake.uri == parse_lake(path).uri


def test_percent_escapes_are_decoded_in_a_file_uri_and_kept_in_a_plain_path() -> None:
    assert parse_lake("file:///srv/a%41%20b").root == Path("/srv/aA b")
    assert parse_lake("/srv/a%41%20b").root == Path("/srv/a%41%20b")
    assert parse_lake("file:///srv/a%23b%3Fc").root == Path("/srv/a#b?c")


@pytest.mark.parametrize(
    ("written", "root"),
    [
        ("/srv/lake/", "/srv/lake"),
        ("/srv//lake", "/srv/lake"),
        ("/srv/./x/../lake", "/srv/lake"),
        ("//srv/lake", "/srv/lake"),  # POSIX lets a path keep a leading '//'; the lake's identity does not
        ("file:////srv/lake", "/srv/lake"),
        ("file:///srv/x/../lake/", "/srv/lake"),
    ],
)
def test_the_uri_is_canonical(written: str, root: str) -> None:
    lake = parse_lake(written)
    assert lake.root == Path(root)
    assert lake.uri == parse_lake(root).uri


@pytest.mark.parametrize("relative", ["lake", "my lake/#1", "x/../lake", "./100%"])
def test_a_relative_path_is_taken_from_the_current_folder(
    relative: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_lake(relative).root == Path(os.path.normpath(tmp_path / relative))


def test_a_symlink_is_kept_as_written(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    lake = parse_lake(str(tmp_path / "link"))
    assert lake.root == tmp_path / "link"
    assert lake.root != lake.root.resolve()


@given(PATHS, REFUSED, st.text(SAFE, max_size=4))
def test_quotes_backslashes_and_control_characters_are_refused(path: str, bad: str, tail: str) -> None:
    written = path + bad + tail
    for form in (written, "file://" + quote(written)):
        with pytest.raises(LakeError, match=REFUSED_MESSAGE):
            parse_lake(form)
        with pytest.raises(LakeError, match=REFUSED_MESSAGE):
            resolve_lake_uri(form)


@pytest.mark.parametrize(
    "uri",
    [
        "file://fileserver/srv/lake",  # a host
        "file:///srv/lake#1",  # '#' must be %23 in a URI
        "file:///srv/lake?x",  # '?' must be %3F
        "file:lake",  # not absolute
    ],
)
def test_a_file_uri_that_is_not_file_absolute_path_is_refused(uri: str) -> None:
    with pytest.raises(LakeError, match=re.escape("is not file:///absolute/path: percent-encode '#' as %23")):
        parse_lake(uri)


@pytest.mark.parametrize("uri", ["s3://bucket/lake", "http://host/lake", "hdfs://namenode/lake"])
def test_other_schemes_are_refused(uri: str) -> None:
    with pytest.raises(LakeError, match="unsupported lake URI"):
        parse_lake(uri)


def test_an_empty_uri_names_no_folder() -> None:
    with pytest.raises(LakeError, match="names no folder"):
        parse_lake("")


# -- gs:// ------------------------------------------------------------------------------------


@given(BUCKETS, PREFIXES, st.sampled_from(["", "/", "//"]))
@example("lakehouse-prod", "prod/lake", "/")
def test_a_gs_uri_keeps_its_bucket_and_prefix(bucket: str, prefix: str, trailing: str) -> None:
    lake = parse_lake(f"gs://{bucket}/{prefix}{trailing}")
    assert (lake.scheme, lake.bucket, lake.prefix, lake.root) == ("gs", bucket, prefix, None)
    assert lake.uri == (f"gs://{bucket}/{prefix}" if prefix else f"gs://{bucket}")
    assert parse_lake(lake.uri) == lake
    assert resolve_lake_uri(f"gs://{bucket}/{prefix}{trailing}") == lake.uri
    assert lakes.spark_location(lake) == lakes.location_setting(lake) == lake.uri
    assert lakes.url(lake, KEY) == f"{lake.uri}/{KEY}"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("gs://", "names no bucket"),
        ("gs:///prod/lake", "names no bucket"),
        ("gs://bucket/prod/../lake", "may not contain '..'"),
        ("gs://bucket/..", "may not contain '..'"),
        ("gs://bucket/lake?generation=1", "'?'"),
        ("gs://bucket/lake#1", "'#'"),
        ("gs://bucket/it's", "quotes"),
        ("gs://bucket/a\\b", "backslashes"),
    ],
)
def test_a_gs_uri_without_bucket_or_with_an_unsafe_prefix_is_refused(uri: str, message: str) -> None:
    with pytest.raises(LakeError, match=re.escape(message)):
        parse_lake(uri)


# -- where the rule falls back to, and where batches are staged -------------------------------


def test_resolve_takes_what_is_given_then_the_setting_then_the_local_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_LOCAL_DIR", str(tmp_path / "state #1"))
    monkeypatch.delenv("LAKEHOUSE_LAKE_URI", raising=False)
    fallback = resolve_lake_uri(None)
    assert parse_lake(fallback).root == tmp_path / "state #1" / "lake"
    assert lakes.default_lake_uri() == fallback
    monkeypatch.setenv("LAKEHOUSE_LAKE_URI", "")  # empty is unset
    assert resolve_lake_uri(None) == fallback
    monkeypatch.setenv("LAKEHOUSE_LAKE_URI", "gs://lakehouse-prod/prod/lake/")
    assert resolve_lake_uri(None) == lakes.default_lake_uri() == "gs://lakehouse-prod/prod/lake"
    assert parse_lake(resolve_lake_uri(str(tmp_path / "given"))).root == tmp_path / "given"
    monkeypatch.setenv("LAKEHOUSE_LAKE_URI", str(tmp_path / "it's"))
    with pytest.raises(LakeError, match=REFUSED_MESSAGE):
        resolve_lake_uri(None)


def test_batches_are_staged_inside_a_local_lake_and_per_lake_for_a_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lakes.staging_root(parse_lake(str(tmp_path / "lake"))) == tmp_path / "lake" / "_staging"
    monkeypatch.setenv("LAKEHOUSE_LOCAL_DIR", str(tmp_path / "state"))
    prod = lakes.staging_root(parse_lake("gs://bucket/prod"))
    assert prod.parent == tmp_path / "state" / "staging"
    assert prod.name.startswith("gcs-bucket-")
    assert lakes.staging_root(parse_lake("gs://bucket/prod/")) == prod  # the same lake
    assert lakes.staging_root(parse_lake("gs://bucket/test")) != prod  # another lake in the same bucket
    assert lakes.staging_root(parse_lake("gs://bucket")) != prod


# -- object names from a bucket, checksums as GCS reports them ----------------------------------

KEY_SEGMENTS = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/\\"), min_size=1, max_size=8
).filter(lambda s: s not in (".", ".."))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(KEY_SEGMENTS, min_size=1, max_size=4))
def test_an_object_name_of_plain_parts_lands_inside_the_folder(tmp_path: Path, parts: list[str]) -> None:
    path = lakes.local_path_for(tmp_path, "/".join(parts))
    assert path == tmp_path.joinpath(*parts)
    assert path.resolve().is_relative_to(tmp_path.resolve())


@pytest.mark.parametrize("name", ["", "/etc/passwd", "..", "a/../../x", "a//b", "a/./b", "a/", "a\\..\\b"])
def test_an_object_name_that_could_leave_the_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(LakeError, match="refusing object name"):
        lakes.local_path_for(tmp_path, name)


def test_an_object_name_through_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "out").symlink_to(outside)
    with pytest.raises(LakeError, match="leads outside"):
        lakes.local_path_for(root, "out/x")


def test_checksums_are_base64_crc32c_and_md5(tmp_path: Path) -> None:
    check = tmp_path / "check"
    check.write_bytes(b"123456789")
    crc, md5 = lakes.file_checksums(check)
    assert base64.b64decode(crc) == bytes.fromhex("e3069283")  # CRC-32C's published check value, big-endian
    assert md5 is not None and base64.b64decode(md5) == hashlib.md5(b"123456789").digest()
    assert lakes.file_checksums(check, md5=False) == (crc, None)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert base64.b64decode(lakes.file_checksums(empty)[0]) == bytes(4)


def test_checksums_of_a_file_read_in_several_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * (9 * 4096)  # 9 MiB: more than one 8 MiB read
    big = tmp_path / "big"
    big.write_bytes(data)
    crc, md5 = lakes.file_checksums(big)
    whole = google_crc32c.value(data)  # type: ignore[no-untyped-call]
    assert base64.b64decode(crc) == whole.to_bytes(4, "big")
    assert md5 is not None and base64.b64decode(md5) == hashlib.md5(data).digest()


@given(
    st.sampled_from(["file:///lake/", "gs://bucket/", "lake/"]), st.sampled_from(["\t", "\n", "\r", "\x00", "'", "\\"])
)
def test_a_control_character_quote_or_backslash_is_refused_wherever_it_is(start: str, bad: str) -> None:
    # urlsplit drops tabs and newlines without a word: the URI is checked before it is split.
    with pytest.raises(LakeError, match="single quotes, backslashes or control characters"):
        parse_lake(f"{start}a{bad}b")
