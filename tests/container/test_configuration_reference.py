"""Every variable the panel, its image or compose.yaml reads is documented with its default
in docs/configuration.md and in the README's configuration reference."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON_READ = re.compile(r'env_(?:str|int|bool|list|choice|url)\(\s*"([A-Z][A-Z0-9_]+)"')
SHELL_READ = re.compile(r"\$\{([A-Z][A-Z0-9_]+)")


def variables():
    found = set()
    for folder in ("vmmanager", "apps"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(PYTHON_READ.findall(path.read_text()))
    for path in ("docker/entrypoint.sh", "compose.yaml"):
        found |= set(SHELL_READ.findall((ROOT / path).read_text()))
    return sorted(found)


def test_the_scan_finds_the_variables_it_should():
    # A scan that found nothing would make the checks below pass vacuously.
    names = variables()
    assert {"DATABASE_URL", "VMM_SSH_DIR", "VMM_WAIT_TIMEOUT", "POSTGRES_PASSWORD"} <= set(names)


@pytest.mark.parametrize("document", ["docs/configuration.md", "README.md"])
def test_every_variable_is_documented(document):
    text = (ROOT / document).read_text()
    missing = [name for name in variables() if f"`{name}`" not in text]
    assert missing == []
