"""The local stand-in for DataHub's metadata service, driven by DataHub's own REST emitter."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from governance.collector import collecting, read_collected

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=10, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=20, unique=True))
def test_what_the_rest_emitter_sends_is_read_back_in_the_file_format(names: list[str]) -> None:
    import tempfile

    from datahub.emitter.mcp import MetadataChangeProposalWrapper
    from datahub.emitter.rest_emitter import DataHubRestEmitter
    from datahub.metadata.schema_classes import DataFlowInfoClass, StatusClass

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "collected.jsonl"
        with collecting(path) as url:
            emitter = DataHubRestEmitter(url)
            emitter.test_connection()  # the emitter's own check that it talks to GMS
            sent = [
                MetadataChangeProposalWrapper(
                    entityUrn=f"urn:li:dataFlow:(airflow,{name},prod)", aspect=DataFlowInfoClass(name=name)
                )
                for name in names
            ]
            sent.append(MetadataChangeProposalWrapper(entityUrn=sent[0].entityUrn, aspect=StatusClass(removed=False)))
            emitter.emit_mcps(sent)  # a batch
            emitter.emit(sent[0])  # and one on its own
            emitter.close()
        records = read_collected(path)
    expected = [mcp.to_obj(simplified_structure=True) for mcp in [*sent, sent[0]]]
    assert sorted(map(str, records)) == sorted(map(str, expected))
