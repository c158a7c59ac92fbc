"""The Russian UI is complete: every string the UI adds, every built-in operation and step
name, and the compiled catalog the panel loads at run time matches its source."""

import gettext
import importlib
import pkgutil
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from apps.jobs.registry import operation_packages
from apps.ui import labels

CATALOG = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES"


def builtin_operations():
    for package in operation_packages():
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            yield info.name, importlib.import_module(f"{package}.{info.name}")


def test_no_string_in_the_russian_catalog_is_left_untranslated_or_fuzzy():
    text = (CATALOG / "django.po").read_text()
    entries = text.split("\n\n")[1:]
    empty = re.compile(r'^msgstr(\[\d\])? ""\n(?!")', re.M)  # an empty msgstr not continued on the next line
    untranslated = [entry for entry in entries if empty.search(entry + "\n")]
    assert untranslated == []
    assert "#, fuzzy" not in text


@pytest.mark.parametrize(("kind", "module"), list(builtin_operations()), ids=lambda v: getattr(v, "__name__", v))
def test_every_built_in_operation_and_its_steps_have_russian_names(kind, module):
    with translation.override("ru"):
        assert labels.label("operation", kind) != kind
        for step in getattr(module, "STEPS", ()):
            assert labels.label("stepname", step) != step, f"{kind}: step {step!r} has no Russian name"


@pytest.mark.parametrize("kind", ["power", "vm", "job", "step", "host", "image", "visibility", "role", "traffic"])
def test_every_state_the_ui_names_has_a_russian_name_from_its_models_choices(kind):
    """The badges' names are the models' choice labels: their msgids must be in the catalog."""
    with translation.override("en"):
        english = {value: labels.label(kind, value) for value in labels.TABLES[kind]}
    with translation.override("ru"):
        russian = {value: labels.label(kind, value) for value in labels.TABLES[kind]}
    assert [value for value in english if russian[value] == english[value]] == []


def test_the_forms_offer_the_models_choices_in_russian():
    from apps.hosts.models import DomainType
    from apps.images.models import GuestConfig

    with translation.override("ru"):
        assert str(DomainType.KVM.label) == "KVM (аппаратная)"
        assert str(GuestConfig.CUSTOMIZE.label) == "virt-customize (офлайн)"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext's msgfmt")
def test_the_compiled_catalog_matches_its_source(tmp_path):
    subprocess.run(["msgfmt", "-o", str(tmp_path / "fresh.mo"), str(CATALOG / "django.po")], check=True)

    def catalog(path):
        with open(path, "rb") as handle:
            return gettext.GNUTranslations(handle)._catalog

    assert catalog(CATALOG / "django.mo") == catalog(tmp_path / "fresh.mo")
