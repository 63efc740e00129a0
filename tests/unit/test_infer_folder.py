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
    # Still named for review: NA among text is read as NULL on the evidence of another file.
    assert [n for n in notes if "'model'" in n and "null_tokens" in n]


def test_an_answer_that_is_a_null_word_is_named_for_review(tmp_path: Path) -> None:
    """`None` fills b.middle on its own, so the folder reads it as NULL, also among a's answers."""
    write(tmp_path, "a.csv", ["id,allergies,qty", "1,Peanuts,1", "2,None,2", "3,Shellfish,3"])
    write(tmp_path, "b.csv", ["id,middle", "1,None", "2,None"])
    _, notes = infer_contract(tmp_path, "demo")
    assert any("a.csv" in n and "'allergies'" in n and "'None'" in n for n in notes)


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


def test_a_wide_table_fits_mysql_s_row_size(tmp_path: Path) -> None:
    """70 empty text columns of VARCHAR(255) are 71,400 bytes in utf8mb4: MySQL refuses the table."""
    header = ",".join(["id", *(f"c{i}" for i in range(70))])
    write(tmp_path, "wide.csv", [header, *(str(i) + "," * 70 for i in range(3))])
    contract, notes = infer_contract(tmp_path, "demo")
    [table] = contract.tables
    widths = sum(4 * (c.type.precision or 0) for c in table.columns if c.type.base == "VARCHAR")
    assert widths <= 65_535 and any(c.type.base == "TEXT" for c in table.columns)
    assert any("row size" in n for n in notes)


def test_a_nineteen_digit_integer_that_fits_is_a_bigint(tmp_path: Path) -> None:
    write(tmp_path, "ids.csv", ["id,big", "1,9000000000000000000", "2,5"])
    [table], _ = infer_contract(tmp_path, "demo")[0].tables, None
    assert str(table.column("big").type) == "BIGINT"
