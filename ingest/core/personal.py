"""What makes a column personal data: one rule for the scaffold (which tags columns) and the
governance policy (which refuses untagged ones).

By name: a word of the column's snake_case name says it holds a name, address, phone number,
e-mail or birth date of someone (`customer_name`, `c_phone`, `email`). A bare `name`, and names of
things (`nation_name`, `airline_name`), are a thing's name, not a person's.
By values (the scaffold, which reads the CSV files): most values of a text column look like
e-mail addresses, phone numbers, person names or street addresses; "Lansdowne Airport" and
"Delta Air Lines Inc." look like names but name organisations and places, so those do not count.
"""

from __future__ import annotations

import re

PERSONAL_WORDS = frozenset(
    {
        "name", "surname", "lastname", "firstname", "fullname", "forename", "username",
        "address", "addr", "street", "zip", "postcode", "postal",
        "phone", "telephone", "tel", "cellphone", "mobile", "fax", "email", "emailaddress", "mail",
        "birth", "birthdate", "birthday", "dob",
    }
)  # fmt: skip
NOT_PERSONAL = frozenset(
    {
        "name",  # a thing's name more often than a person's: the values decide
        "n_name",  # TPC-H's raw spellings of nation, region and part names
        "r_name",
        "p_name",
    }
)
# Things whose name is not a person's: `nation_name`, `airline_name`, `destination_name`.
THINGS = frozenset(
    {
        "nation", "region", "country", "state", "city", "county", "part", "product", "brand", "category",
        "month", "day", "airline", "carrier", "airport", "destination", "origin", "station", "company",
        "store", "team", "file", "table", "column", "model", "event", "job", "task", "host", "service", "device",
        "project", "species", "status",
    }
)  # fmt: skip
# Words that make a capitalised phrase an organisation's or a place's name rather than a person's.
ORGANISATION_WORDS = frozenset(
    {
        "airport", "airlines", "airline", "airways", "air", "field", "municipal", "regional", "international",
        "county", "city", "inc", "corp", "corporation", "company", "co", "ltd", "llc", "group", "bank",
        "university", "college", "school", "hospital", "center", "centre", "park", "station", "base", "island",
        "lake", "river", "mountain", "valley", "state", "national", "aviation", "industries",
    }
)  # fmt: skip
VALUE_PATTERNS = {
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
    "phone": re.compile(r"^\+?(?=(?:\D*\d){7})[\d\s().-]{7,20}$"),
    "person": re.compile(r"^[A-Z][a-z]+(?:[ '-][A-Z][a-z]+)+$"),
    "address": re.compile(r"^\d+[A-Za-z]? [A-Z][A-Za-z]+(?: [A-Za-z]+)*$"),
}
SHARE = 0.8  # of the values that must look alike
# Columns whose capitalised values are places or states, not persons ("New York", "In Progress").
NOT_PERSON_VALUES = frozenset(
    {"state", "city", "town", "country", "county", "region", "place", "location", "status", "stage", "type", "category"}
)


def personal_words(column: str) -> set[str]:
    """The words of a column's name that say it is personal (empty when it is not, by its name)."""
    name = column.lower()
    words = set(re.split(r"[^a-z0-9]+", name))
    if name in NOT_PERSONAL or (words & THINGS and words <= THINGS | {"name"}):
        return set()
    return words & PERSONAL_WORDS


def looks_personal(column: str) -> bool:
    """True for a column whose name says it holds a name, address, phone number or e-mail of someone."""
    return bool(personal_words(column))


def value_kind(value: str) -> str | None:
    """What one text value looks like: `email`, `phone`, `person` or `address`, else None."""
    for kind, pattern in VALUE_PATTERNS.items():
        if pattern.match(value):
            if kind == "person" and set(re.split(r"[^a-z]+", value.lower())) & ORGANISATION_WORDS:
                return None
            return kind
    return None
