"""Merging the lake's aspects from two writers (DataHub's data-lake source first, then ours) loses
nothing: one aspect per dataset, every custom property and field of either, the first writer's
values where both say something; and local folder names get their leading slash, nothing else."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from governance.aspects import merge_aspects
from governance.lake_source import absolute_file_names

KEYS = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
VALUES = st.text(min_size=0, max_size=6)
PROPERTIES = st.dictionaries(KEYS, VALUES, max_size=5)
FIELDS = st.lists(KEYS, max_size=6, unique=True)
URNS = st.sampled_from([f"urn:li:dataset:(urn:li:dataPlatform:file,/lake/raw/t{i},PROD)" for i in range(3)])


def mcp(urn: str, name: str, aspect: Any, change: str = "UPSERT") -> dict[str, Any]:
    return {
        "entityType": "dataset",
        "entityUrn": urn,
        "changeType": change,
        "aspectName": name,
        "aspect": {"json": aspect},
    }


@given(
    st.lists(
        st.tuples(URNS, PROPERTIES, st.one_of(st.none(), VALUES), FIELDS),
        min_size=1,
        max_size=8,
    )
)
def test_every_property_and_field_survives_and_the_first_writer_wins(
    writes: list[tuple[str, dict[str, str], str | None, list[str]]],
) -> None:
    records = []
    for urn, properties, description, fields in writes:
        records.append(
            mcp(urn, "datasetProperties", {"customProperties": dict(properties), "description": description})
        )
        records.append(mcp(urn, "schemaMetadata", {"fields": [{"fieldPath": f} for f in fields]}))
    merged = merge_aspects(records)
    for urn in {w[0] for w in writes}:
        mine = [w for w in writes if w[0] == urn]
        found = [r for r in merged if r["entityUrn"] == urn and r["aspectName"] == "datasetProperties"]
        schemas = [r for r in merged if r["entityUrn"] == urn and r["aspectName"] == "schemaMetadata"]
        assert len(found) == 1 and len(schemas) == 1
        custom = found[0]["aspect"]["json"]["customProperties"]
        assert set(custom) == {k for w in mine for k in w[1]}
        for key, value in custom.items():
            assert value == next(w[1][key] for w in mine if key in w[1])  # the first writer's value
        given_descriptions = [w[2] for w in mine if w[2]]
        assert found[0]["aspect"]["json"]["description"] == (
            given_descriptions[0] if given_descriptions else mine[0][2]
        )
        paths = [f["fieldPath"] for f in schemas[0]["aspect"]["json"]["fields"]]
        assert paths == list(dict.fromkeys(f for w in mine for f in w[3]))  # in order, once each


def test_a_top_level_patch_is_applied_and_a_deeper_one_kept() -> None:
    urn = "urn:li:dataset:(urn:li:dataPlatform:file,/lake/lakehouse/m,PROD)"
    records = [
        mcp(urn, "datasetProperties", {"name": "m", "customProperties": {}}),
        mcp(urn, "datasetProperties", [{"op": "add", "path": "/lastModified", "value": {"time": 5}}], "PATCH"),
        mcp(urn, "datasetProperties", [{"op": "add", "path": "/customProperties/a", "value": "1"}], "PATCH"),
    ]
    merged = merge_aspects(records)
    assert merged[0]["aspect"]["json"]["lastModified"] == {"time": 5}
    assert merged[1:] == records[2:]


def test_a_patch_before_its_aspect_is_applied_to_it_and_odd_records_go_through() -> None:
    urn = "urn:li:dataset:(urn:li:dataPlatform:file,/lake/lakehouse/m,PROD)"
    odd = [
        {"aspectName": "datasetProperties", "aspect": {"json": {"name": "no urn"}}},
        {
            "entityUrn": urn,
            "aspectName": "schemaMetadata",
            "aspect": {"value": "{}", "contentType": "application/json"},
        },
        mcp(urn, "datasetProperties", [{"op": "remove", "path": "/description"}], "PATCH"),
    ]
    records = [
        mcp(urn, "datasetProperties", [{"op": "add", "path": "/lastModified", "value": {"time": 5}}], "PATCH"),
        *odd,
        mcp(urn, "datasetProperties", {"name": "m", "customProperties": None}),
        mcp(urn, "datasetProperties", {"customProperties": {"a": "1"}}),
        mcp(urn, "schemaMetadata", {"fields": None}),
        mcp(urn, "schemaMetadata", {"fields": [{"fieldPath": "x"}]}),
    ]
    merged = merge_aspects(records)
    assert merged[:3] == odd
    assert merged[3]["aspect"]["json"] == {"name": "m", "customProperties": {"a": "1"}, "lastModified": {"time": 5}}
    assert merged[4]["aspect"]["json"] == {"fields": [{"fieldPath": "x"}]}
    assert len(merged) == 5
    said = mcp(urn, "datasetProperties", {"name": "m", "lastModified": {"time": 9}})
    assert merge_aspects([records[0], said])[0]["aspect"]["json"]["lastModified"] == {"time": 9}  # the aspect's own


PATHS = st.lists(st.from_regex(r"[A-Za-z0-9_.=-]{1,10}", fullmatch=True), min_size=1, max_size=5).map("/".join)


@given(PATHS, PATHS)
def test_local_folder_names_get_their_leading_slash_and_nothing_else_changes(path: str, other: str) -> None:
    record = {
        "entityUrn": f"urn:li:dataset:(urn:li:dataPlatform:file,{path},PROD)",
        "aspect": {"json": {"upstreams": [{"dataset": f"urn:li:dataset:(urn:li:dataPlatform:gcs,{other},PROD)"}]}},
        "container": f"urn:li:container:{other}",
    }
    fixed = absolute_file_names(record)
    assert fixed["entityUrn"] == f"urn:li:dataset:(urn:li:dataPlatform:file,/{path},PROD)"
    assert fixed["aspect"] == record["aspect"] and fixed["container"] == record["container"]
    assert absolute_file_names(fixed) == fixed
