"""Null tokens are decided for a folder: files written by one tool share one convention."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.infer import infer_contract

TOKENS = st.sampled_from(["NA", "NULL", "N/A", "\\N"])


def write(folder: Path, name: str, rows: list[str]) -> None:
    (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_token_in_a_typed_column_of_one_file_is_null_in_its_sibling_s_text(tmp_path: Path) -> None:
    write(tmp_path, "flights.csv", ["id,delay", "1,12", "2,NA", "3,7"])
    write(tmp_path, "planes.csv", ["tailnum,model", "N1,A320", "N2,NA", "N3,B737"])  # NA only in text here
    contract, notes = infer_contract(tmp_path, "demo")
    planes = next(t for t in contract.tables if t.name == "planes")
    assert planes.dialect.null_tokens == ["NA"]
    assert next(c for c in planes.columns if c.name == "model").nullable
    assert "flights.csv:delay" in (planes.description or "")  # the contract says why
    assert not notes  # A320/B737 are longer than NA: nothing to review


def test_without_evidence_a_token_stays_text(tmp_path: Path) -> None:
    write(tmp_path, "a.csv", ["id,name", "1,NA", "2,Bob"])
    write(tmp_path, "b.csv", ["id,qty", "1,3", "2,4"])
    contract, _ = infer_contract(tmp_path, "demo")
    assert all(t.dialect.null_tokens == [] for t in contract.tables)
    assert not next(c for c in contract.tables[0].columns if c.name == "name").nullable


def test_a_short_text_column_holding_the_token_is_named_for_review(tmp_path: Path) -> None:
    write(tmp_path, "countries.csv", ["code,name", "DE,Germany", "NA,Namibia"])  # NA is Namibia here
    write(tmp_path, "stats.csv", ["id,value", "1,NA", "2,3"])
    _, notes = infer_contract(tmp_path, "demo")
    assert any("countries.csv" in n and "'code'" in n and "null_tokens" in n for n in notes)


@settings(max_examples=40, deadline=None)
@given(
    token=TOKENS,
    files=st.lists(
        st.lists(
            st.one_of(st.integers(-999, 999).map(str), st.sampled_from(["x", "yy", "zzz"])), min_size=1, max_size=6
        ),
        min_size=1,
        max_size=4,
    ),
    typed_hole=st.booleans(),
)
def test_every_table_of_a_folder_shares_its_null_tokens(
    tmp_path_factory: object, token: str, files: list[list[str]], typed_hole: bool
) -> None:
    folder = Path(str(tmp_path_factory.mktemp("folder")))  # type: ignore[attr-defined]
    for index, values in enumerate(files):
        write(folder, f"t{index}.csv", ["id,value", *(f"{row},{value}" for row, value in enumerate(values))])
    if typed_hole:  # the token stands in an integer column of one more file
        write(folder, "typed.csv", ["id,amount", "1,5", f"2,{token}"])
    contract, _ = infer_contract(folder, "demo")
    tokens = {tuple(t.dialect.null_tokens) for t in contract.tables}
    assert len(tokens) == 1
    assert (token in next(iter(tokens))) == typed_hole
