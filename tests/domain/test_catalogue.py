"""The catalogue says what a valid value is, and never quotes a refused one."""

from __future__ import annotations

from typing import Any

import pytest

from myco_graph.domain import catalogue
from myco_graph.errors import BadUserInput


def clean(key: str, value: Any) -> Any:
    return catalogue.FIELDS[key].clean(value)


def refusal(key: str, value: Any) -> BadUserInput:
    with pytest.raises(BadUserInput) as caught:
        clean(key, value)
    return caught.value


def test_text_is_stripped() -> None:
    assert clean("location.city", "  Lyon ") == "Lyon"


def test_integer_keeps_to_its_range() -> None:
    assert clean("identity.birthYear", 1900) == 1900
    assert refusal("identity.birthYear", 1899).field == "identity.birthYear"
    assert refusal("household.size", 31).field == "household.size"


def test_booleans_are_not_integers_and_integers_not_booleans() -> None:
    assert refusal("identity.birthYear", True).field == "identity.birthYear"
    assert refusal("household.carOwner", 1).field == "household.carOwner"


def test_date_is_stored_as_an_iso_date() -> None:
    assert clean("consumption.lastMovingDate", "2024-02-29") == "2024-02-29"
    assert refusal("consumption.lastMovingDate", "2023-02-29").field == (
        "consumption.lastMovingDate"
    )


def test_choices_are_stored_once_each_in_order() -> None:
    assert clean("music.favoriteGenres", ["rock", "jazz", "rock"]) == ["jazz", "rock"]


def test_unknown_choice_is_refused() -> None:
    assert refusal("identity.gender", "robot").field == "identity.gender"
    assert refusal("music.favoriteGenres", ["jazz", "polka"]).field == (
        "music.favoriteGenres"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("location.city", "Zanzibar-" + "z" * 200),
        ("identity.birthYear", 1234),
        ("identity.gender", "Zanzibar"),
        ("consumption.lastMovingDate", "Zanzibar"),
    ],
)
def test_refusal_never_quotes_the_value(key: str, value: Any) -> None:
    assert str(value) not in refusal(key, value).message
    assert "Zanzibar" not in refusal(key, value).message


def test_unknown_key_is_refused_on_the_fields_input() -> None:
    with pytest.raises(BadUserInput) as caught:
        catalogue.lookup("music.favouriteBands")

    assert caught.value.field == "fields"


def test_special_categories_are_health_and_politics() -> None:
    special = {key for key, spec in catalogue.FIELDS.items() if spec.special}

    assert {key.split(".")[0] for key in special} == {"health", "politics"}


def test_every_field_is_labelled_in_french_and_english() -> None:
    labels = [spec.labels for spec in catalogue.FIELDS.values()]
    labels += [choice.labels for s in catalogue.FIELDS.values() for choice in s.choices]

    assert all(set(label) == {"en", "fr"} and all(label.values()) for label in labels)
