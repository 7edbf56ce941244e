"""The translation catalogues are complete, keep every placeholder, and are really used.

The .mo files are not committed (they are built at install), so this module compiles the
catalogues before any test runs when a .mo file is missing or older than its .po file.
"""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path
from types import SimpleNamespace

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation.reloader import translation_file_changed

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
CATALOGUES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))

# Every language the settings offer, except the source language, needs a catalogue.
EXPECTED_LOCALES = {translation.to_locale(code) for code, _name in settings.LANGUAGES if code != "en"}

# %(name)s / %(count)d, positional %s / %d, and {name} / {} brace fields. "%%" is a literal.
PLACEHOLDER = re.compile(
    r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|\{\w*\}"
)

PLURAL_FORMS = {
    "pt_BR": "nplurals=2; plural=(n > 1);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
}


def _compile_if_needed() -> None:
    stale = [
        po
        for po in CATALOGUES
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command("compile_translations", stdout=io.StringIO())
        # Forget any catalogue Django loaded before the .mo files existed.
        translation_file_changed(sender=None, file_path=stale[0].with_suffix(".mo"))


# At import, i.e. during collection, before any test of the run (here or elsewhere) renders text.
_compile_if_needed()


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    _compile_if_needed()


@pytest.fixture(autouse=True)
def _language_reset():
    """LocaleMiddleware leaves the request's language active in this thread; do not let a
    Russian or Portuguese page change the language of the tests that run after this one."""
    yield
    translation.deactivate()


def _placeholders(text: str) -> list[str]:
    """Format fields of `text`, plus one "%%" per escaped percent sign (a template's literal
    "%(name)s" reaches the catalogue as "%%(name)s" and must come back the same way)."""
    fields = sorted(match.group(0) for match in PLACEHOLDER.finditer(text.replace("%%", "")))
    return fields + ["%%"] * text.count("%%")


def _entries(po_path: Path) -> list[polib.POEntry]:
    return [entry for entry in polib.pofile(str(po_path)) if not entry.obsolete]


def _catalogue_id(po_path: Path) -> str:
    return str(po_path.relative_to(LOCALE_DIR))


def test_every_offered_language_has_a_catalogue():
    found = {po.parent.parent.name for po in CATALOGUES if po.name == "django.po"}
    assert EXPECTED_LOCALES <= found


@pytest.mark.parametrize("po_path", CATALOGUES, ids=_catalogue_id)
def test_catalogue_is_fully_translated_with_nothing_fuzzy(po_path):
    catalogue = polib.pofile(str(po_path))
    assert len(catalogue) > 0
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not untranslated, f"untranslated in {po_path}: {untranslated}"
    assert not fuzzy, f"fuzzy in {po_path}: {fuzzy}"
    assert not catalogue.metadata_is_fuzzy, f"the header of {po_path} is marked fuzzy"
    assert catalogue.percent_translated() == 100


@pytest.mark.parametrize("po_path", CATALOGUES, ids=_catalogue_id)
def test_catalogue_header_names_its_language_and_plural_forms(po_path):
    catalogue = polib.pofile(str(po_path))
    locale = po_path.parent.parent.name
    assert catalogue.metadata.get("Language") == locale
    assert "charset=UTF-8" in catalogue.metadata.get("Content-Type", "")
    if locale in PLURAL_FORMS:
        assert catalogue.metadata.get("Plural-Forms") == PLURAL_FORMS[locale]


@pytest.mark.parametrize("po_path", CATALOGUES, ids=_catalogue_id)
def test_every_translation_keeps_the_placeholders_of_its_source(po_path):
    catalogue = polib.pofile(str(po_path))
    plural = gettext.c2py(catalogue.metadata["Plural-Forms"].split("plural=", 1)[1].rstrip(";"))
    problems = []
    for entry in _entries(po_path):
        if entry.msgid_plural:
            singular, many = set(_placeholders(entry.msgid)), set(_placeholders(entry.msgid_plural))
            for index, form in entry.msgstr_plural.items():
                got = set(_placeholders(form))
                # A form that only ever stands for n == 1 may drop the count, like the msgid.
                only_one = all(plural(n) != int(index) for n in range(2, 1000))
                if got != many and not (only_one and got == singular):
                    problems.append((entry.msgid_plural, index, form))
        elif _placeholders(entry.msgstr) != _placeholders(entry.msgid):
            problems.append((entry.msgid, entry.msgstr))
    assert not problems, f"placeholders changed in {po_path}: {problems}"


@pytest.mark.parametrize("po_path", CATALOGUES, ids=_catalogue_id)
def test_translations_keep_leading_and_trailing_newlines(po_path):
    problems = [
        entry.msgid
        for entry in _entries(po_path)
        if not entry.msgid_plural
        and (
            entry.msgid.startswith("\n") != entry.msgstr.startswith("\n")
            or entry.msgid.endswith("\n") != entry.msgstr.endswith("\n")
        )
    ]
    assert not problems, f"newlines changed in {po_path}: {problems}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "sign_in", "username", "html_lang"),
    [
        ("ru", "Войти", "Имя пользователя", "ru"),
        ("pt-BR,pt;q=0.9", "Entrar", "Nome de usuário", "pt-br"),
    ],
)
def test_login_page_speaks_the_browser_language(client, accept_language, sign_in, username, html_lang):
    response = client.get("/agent/login/", HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<html lang="{html_lang}">' in page
    assert f"<h1>{sign_in}</h1>" in page
    assert username in page
    assert "Sign in" not in page


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "sign_in"), [("ru", "Войти"), ("pt-br", "Entrar")])
def test_login_page_follows_the_language_cookie(client, language, sign_in):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/agent/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"<h1>{sign_in}</h1>" in page


@pytest.mark.django_db
def test_login_page_stays_english_by_default(client):
    page = client.get("/agent/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Sign in</h1>" in page


@pytest.mark.parametrize(
    ("language", "greeting", "received"),
    [
        ("pt-br", "Olá, Ana", "Recebemos a sua solicitação"),
        ("ru", "Здравствуйте, Ana", "Мы получили ваш запрос"),
    ],
)
def test_customer_acknowledgement_is_translated(language, greeting, received):
    context = {
        "customer": SimpleNamespace(name="Ana"),
        "ticket": SimpleNamespace(number=1042, subject="Pedido 7"),
    }
    with translation.override(language):
        text = render_to_string("tickets/customer/ticket_received.txt", context)
    assert greeting in text
    assert received in text
    assert "Pedido 7" in text
    assert "#1042" in text
    assert "We have received" not in text
