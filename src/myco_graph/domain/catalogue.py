"""The profile catalogue: every field a member can fill, defined once.

A field's key is ``section.field`` (``music.favoriteGenres``), the same
spelling as its path in GraphQL. Special-category fields (GDPR art. 9:
health, political opinion, …) need an explicit grant and are never used to
target offers.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from myco_graph.errors import BadUserInput


class FieldType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    CHOICE = "choice"
    CHOICES = "choices"


Labels = dict[str, str]  # language code -> label


@dataclass(frozen=True)
class Choice:
    value: str
    labels: Labels


@dataclass(frozen=True)
class ProfileField:
    """One field of the catalogue, with what a valid value is."""

    section: str
    name: str
    type: FieldType
    labels: Labels
    special: bool = False
    choices: tuple[Choice, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200

    @functools.cached_property
    def key(self) -> str:
        # Cached: it is read for every value of every profile a page shows.
        return f"{self.section}.{self.name}"

    @property
    def choice_values(self) -> frozenset[str]:
        return frozenset(choice.value for choice in self.choices)

    def clean(self, value: Any) -> Any:
        """The value as stored, or BadUserInput naming the field (never the value)."""
        cleaner = _CLEANERS[self.type]
        cleaned = cleaner(self, value)
        if cleaned is _INVALID:
            raise BadUserInput(self._expected(), field=self.key)
        return cleaned

    def _expected(self) -> str:
        if self.type is FieldType.INTEGER:
            low, high = self.minimum, self.maximum
            return f"{self.key} takes a whole number from {low} to {high}."
        if self.type in {FieldType.CHOICE, FieldType.CHOICES}:
            return f"{self.key} takes only the catalogue's choices."
        if self.type is FieldType.TEXT:
            return f"{self.key} takes text of 1 to {self.max_length} characters."
        return f"{self.key} takes a {self.type.value}."


_INVALID = object()


def _text(spec: ProfileField, value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    value = value.strip()
    return value if 1 <= len(value) <= spec.max_length else _INVALID


def _integer(spec: ProfileField, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return _INVALID
    low = spec.minimum if spec.minimum is not None else -(2**31)
    high = spec.maximum if spec.maximum is not None else 2**31 - 1
    return value if low <= value <= high else _INVALID


def _boolean(spec: ProfileField, value: Any) -> Any:
    return value if isinstance(value, bool) else _INVALID


def _date(spec: ProfileField, value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return _INVALID
    return _INVALID


def _choice(spec: ProfileField, value: Any) -> Any:
    return value if isinstance(value, str) and value in spec.choice_values else _INVALID


def _choices(spec: ProfileField, value: Any) -> Any:
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) and item in spec.choice_values for item in value
    ):
        return _INVALID
    return sorted(set(value))


_CLEANERS = {
    FieldType.TEXT: _text,
    FieldType.INTEGER: _integer,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.CHOICE: _choice,
    FieldType.CHOICES: _choices,
}


@dataclass(frozen=True)
class Section:
    name: str
    labels: Labels
    fields: tuple[ProfileField, ...] = field(default_factory=tuple)


def _choices_of(*pairs: tuple[str, str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(value, {"en": en, "fr": fr}) for value, en, fr in pairs)


def _section(name: str, en: str, fr: str, *fields: dict[str, Any]) -> Section:
    built = tuple(
        ProfileField(
            section=name,
            name=spec["name"],
            type=spec["type"],
            labels={"en": spec["en"], "fr": spec["fr"]},
            special=spec.get("special", False),
            choices=spec.get("choices", ()),
            minimum=spec.get("minimum"),
            maximum=spec.get("maximum"),
        )
        for spec in fields
    )
    return Section(name, {"en": en, "fr": fr}, built)


T = FieldType
GENDERS = _choices_of(
    ("woman", "Woman", "Femme"),
    ("man", "Man", "Homme"),
    ("non_binary", "Non-binary", "Non binaire"),
    ("other", "Other", "Autre"),
)
HORIZONS = _choices_of(
    ("within_6_months", "Within 6 months", "D'ici 6 mois"),
    ("within_2_years", "Within 2 years", "D'ici 2 ans"),
    ("later", "Later", "Plus tard"),
    ("never", "Never", "Jamais"),
)
GENRES = _choices_of(
    ("classical", "Classical", "Classique"),
    ("electronic", "Electronic", "Électronique"),
    ("folk", "Folk", "Folk"),
    ("hip_hop", "Hip-hop", "Hip-hop"),
    ("jazz", "Jazz", "Jazz"),
    ("metal", "Metal", "Metal"),
    ("pop", "Pop", "Pop"),
    ("rock", "Rock", "Rock"),
    ("world", "World", "Musiques du monde"),
)
INSTRUMENTS = _choices_of(
    ("guitar", "Guitar", "Guitare"),
    ("piano", "Piano", "Piano"),
    ("drums", "Drums", "Batterie"),
    ("violin", "Violin", "Violon"),
    ("voice", "Voice", "Chant"),
    ("wind", "Wind instrument", "Instrument à vent"),
)
HOBBIES = _choices_of(
    ("cooking", "Cooking", "Cuisine"),
    ("cycling", "Cycling", "Vélo"),
    ("gardening", "Gardening", "Jardinage"),
    ("hiking", "Hiking", "Randonnée"),
    ("reading", "Reading", "Lecture"),
    ("video_games", "Video games", "Jeux vidéo"),
    ("volunteering", "Volunteering", "Bénévolat"),
)
LEANINGS = _choices_of(
    ("left", "Left", "Gauche"),
    ("centre_left", "Centre left", "Centre gauche"),
    ("centre", "Centre", "Centre"),
    ("centre_right", "Centre right", "Centre droit"),
    ("right", "Right", "Droite"),
    ("none", "None", "Aucune"),
)
CAUSES = _choices_of(
    ("climate", "Climate", "Climat"),
    ("housing", "Housing", "Logement"),
    ("animal_welfare", "Animal welfare", "Bien-être animal"),
    ("digital_rights", "Digital rights", "Libertés numériques"),
    ("public_health", "Public health", "Santé publique"),
)
DIETS = _choices_of(
    ("omnivore", "Omnivore", "Omnivore"),
    ("flexitarian", "Flexitarian", "Flexitarien"),
    ("vegetarian", "Vegetarian", "Végétarien"),
    ("vegan", "Vegan", "Végétalien"),
)

SECTIONS: tuple[Section, ...] = (
    _section(
        "identity",
        "Identity",
        "Identité",
        {"name": "firstName", "type": T.TEXT, "en": "First name", "fr": "Prénom"},
        {
            "name": "birthYear",
            "type": T.INTEGER,
            "en": "Birth year",
            "fr": "Année de naissance",
            "minimum": 1900,
            "maximum": 2030,
        },
        {
            "name": "gender",
            "type": T.CHOICE,
            "en": "Gender",
            "fr": "Genre",
            "choices": GENDERS,
        },
    ),
    _section(
        "location",
        "Location",
        "Localisation",
        {"name": "city", "type": T.TEXT, "en": "City", "fr": "Ville"},
        {"name": "country", "type": T.TEXT, "en": "Country", "fr": "Pays"},
    ),
    _section(
        "household",
        "Household",
        "Foyer",
        {
            "name": "size",
            "type": T.INTEGER,
            "en": "People in the household",
            "fr": "Personnes au foyer",
            "minimum": 1,
            "maximum": 30,
        },
        {
            "name": "children",
            "type": T.INTEGER,
            "en": "Children",
            "fr": "Enfants",
            "minimum": 0,
            "maximum": 30,
        },
        {
            "name": "carOwner",
            "type": T.BOOLEAN,
            "en": "Owns a car",
            "fr": "Possède une voiture",
        },
    ),
    _section(
        "consumption",
        "Consumption",
        "Consommation",
        {
            "name": "nextCarPurchase",
            "type": T.CHOICE,
            "en": "Next car purchase",
            "fr": "Prochain achat de voiture",
            "choices": HORIZONS,
        },
        {
            "name": "preferredBrands",
            "type": T.TEXT,
            "en": "Preferred brands",
            "fr": "Marques préférées",
        },
        {
            "name": "lastMovingDate",
            "type": T.DATE,
            "en": "Last move",
            "fr": "Dernier déménagement",
        },
    ),
    _section(
        "interests",
        "Interests",
        "Centres d'intérêt",
        {
            "name": "hobbies",
            "type": T.CHOICES,
            "en": "Hobbies",
            "fr": "Loisirs",
            "choices": HOBBIES,
        },
        {"name": "bio", "type": T.TEXT, "en": "About me", "fr": "À propos de moi"},
    ),
    _section(
        "music",
        "Music",
        "Musique",
        {
            "name": "favoriteGenres",
            "type": T.CHOICES,
            "en": "Favourite genres",
            "fr": "Genres préférés",
            "choices": GENRES,
        },
        {
            "name": "instruments",
            "type": T.CHOICES,
            "en": "Instruments played",
            "fr": "Instruments pratiqués",
            "choices": INSTRUMENTS,
        },
    ),
    _section(
        "politics",
        "Politics",
        "Politique",
        {
            "name": "leaning",
            "type": T.CHOICE,
            "en": "Political leaning",
            "fr": "Sensibilité politique",
            "choices": LEANINGS,
            "special": True,
        },
        {
            "name": "causes",
            "type": T.CHOICES,
            "en": "Causes I support",
            "fr": "Causes que je soutiens",
            "choices": CAUSES,
            "special": True,
        },
    ),
    _section(
        "health",
        "Health",
        "Santé",
        {
            "name": "smoker",
            "type": T.BOOLEAN,
            "en": "Smoker",
            "fr": "Fumeur",
            "special": True,
        },
        {
            "name": "diet",
            "type": T.CHOICE,
            "en": "Diet",
            "fr": "Régime alimentaire",
            "choices": DIETS,
            "special": True,
        },
        {
            "name": "chronicCondition",
            "type": T.BOOLEAN,
            "en": "Lives with a chronic condition",
            "fr": "Vit avec une maladie chronique",
            "special": True,
        },
    ),
)

FIELDS: dict[str, ProfileField] = {
    spec.key: spec for section in SECTIONS for spec in section.fields
}


def lookup(key: str) -> ProfileField:
    """The field with this key, or BadUserInput."""
    try:
        return FIELDS[key]
    except KeyError:
        raise BadUserInput(
            f"No profile field is called '{key}'.", field="fields"
        ) from None


def label(labels: Labels, language: str) -> str:
    return labels.get(language) or labels["en"]
