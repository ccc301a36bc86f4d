"""The text catalogue: complete in both languages, in step with the source, read by Jinja2."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po
from jinja2 import DictLoader, Environment

from grantflow import i18n


def catalogue(language: str):
    with i18n.catalogue_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=i18n.DOMAIN)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_message_is_translated(language):
    untranslated = [
        message.id
        for message in catalogue(language)
        if message.id and (message.fuzzy or not all(_strings(message)))
    ]
    assert untranslated == [], f"{language}: translate these in {i18n.catalogue_path(language)}"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_placeholders_match_the_source(language):
    problems = [
        (message.id, [str(error) for error in errors])
        for message, errors in catalogue(language).check()
    ]
    assert problems == []


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_catalogue_is_in_step_with_the_source(language):
    """Run ``make messages`` after adding or changing a word in the code or a template."""
    source = {message.id for message in i18n.extract() if message.id}
    translated = {message.id for message in catalogue(language) if message.id}
    assert sorted(map(str, source - translated)) == [], "missing from the catalogue"
    assert sorted(map(str, translated - source)) == [], "no longer in the source"


def test_functions_translate_and_fill_placeholders():
    message = "The application deadline passed on %(when)s."
    assert i18n.t("de", message, when="06.03.2020") == (
        "Die Bewerbungsfrist ist am 06.03.2020 abgelaufen."
    )
    assert i18n.t("en", message, when="6 March 2020") == (
        "The application deadline passed on 6 March 2020."
    )
    assert i18n.t("xx", message, when="1") == i18n.t(i18n.DEFAULT_LANGUAGE, message, when="1")
    assert [i18n.tn("de", "day", "days", n) for n in (1, 3)] == ["Tag", "Tagen"]


def test_templates_translate_in_the_language_of_their_context():
    environment = i18n.install(
        Environment(loader=DictLoader({"page": "{% trans n=count %}{{ n }} application"
                                                "{% pluralize %}{{ n }} applications"
                                                "{% endtrans %}"}))
    )  # fmt: skip
    page = environment.get_template("page")
    assert page.render(language="en", count=1) == "1 application"
    assert page.render(language="en", count=3) == "3 applications"
    days = i18n.install(Environment(loader=DictLoader({"d": "{{ _('day') }}"}))).get_template("d")
    assert (days.render(language="de"), days.render(language="en")) == ("Tag", "day")


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]
