"""One rule for personal data, shared by the scaffold (which tags) and the policy (which refuses)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.core.personal import ORGANISATION_WORDS, looks_personal, value_kind

WORDS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9).map(str.capitalize)


@pytest.mark.parametrize(
    ("column", "personal"),
    [
        ("c_name", True),
        ("email", True),
        ("home_address", True),
        ("c_phone", True),
        ("date_of_birth", True),
        ("surname", True),
        ("dob", True),
        ("telephone", True),
        ("postal_code", True),
        ("event_name", False),
        ("species_name", False),
        ("name", False),  # a bare name: the values decide (airlines.name is a company's)
        ("nation_name", False),
        ("airline_name", False),
        ("destination_name", False),
        ("customer_name", True),  # a customer may be a person: by policy, personal
        ("station_address", True),  # a thing's address is still an address
        ("p_name", False),
        ("carrier", False),
        ("tailnum", False),
    ],
)
def test_a_column_s_name_says_whether_it_is_personal(column: str, personal: bool) -> None:
    assert looks_personal(column) is personal


@given(st.lists(WORDS, min_size=2, max_size=3))
def test_capitalised_words_look_like_a_person(words: list[str]) -> None:
    if not {w.lower() for w in words} & ORGANISATION_WORDS:
        assert value_kind(" ".join(words)) == "person"


@given(st.lists(WORDS, min_size=1, max_size=3), st.sampled_from(sorted(ORGANISATION_WORDS)))
def test_an_organisation_or_a_place_is_not_a_person(words: list[str], word: str) -> None:
    assert value_kind(" ".join([*words, word.capitalize()])) != "person"


@given(st.emails())
def test_e_mail_addresses_are_found(address: str) -> None:
    if " " not in address and address.rsplit(".", 1)[-1].isalpha() and len(address.rsplit(".", 1)[-1]) >= 2:
        assert value_kind(address) == "email"


@pytest.mark.parametrize("value", ["+1 (555) 010-2030", "0044 20 7946 0958", "555-0199-12"])
def test_phone_numbers_are_found(value: str) -> None:
    assert value_kind(value) == "phone"


@pytest.mark.parametrize("value", ["1.5", "-80.62", "(1-2)", "--- ---"])
def test_short_numbers_and_punctuation_are_not_phones(value: str) -> None:
    assert value_kind(value) != "phone"
