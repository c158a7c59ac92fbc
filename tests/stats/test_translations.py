"""The statistics app's Russian catalog is complete and its compiled file matches it."""

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CATALOG = Path(__file__).resolve().parents[2] / "apps" / "stats" / "locale" / "ru" / "LC_MESSAGES"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "ui" / "stats"


def test_every_string_of_the_graphs_has_a_russian_translation():
    source = "".join(path.read_text() for path in TEMPLATES.glob("*.html"))
    wanted = set(re.findall(r"""\{% translate ["']([^"']+)["'] %\}""", source))
    catalog = (CATALOG / "django.po").read_text()
    translated = dict(re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', catalog, re.M))
    assert wanted and not [s for s in wanted if not translated.get(s)]


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext's msgfmt")
def test_the_compiled_catalog_matches_its_source(tmp_path):
    subprocess.run(["msgfmt", "-o", str(tmp_path / "fresh.mo"), str(CATALOG / "django.po")], check=True)

    def catalog(path):
        with open(path, "rb") as handle:
            return gettext.GNUTranslations(handle)._catalog

    assert catalog(CATALOG / "django.mo") == catalog(tmp_path / "fresh.mo")
