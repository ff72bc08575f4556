"""A regular install carries everything the bot reads: pyproject.toml's package list and
package-data globs are held to the files in the repository.  (CI also builds the wheel,
installs it into a fresh virtualenv and runs ``calendar`` and ``db upgrade`` from it.)"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

from bot import shipped

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"
]


def test_every_package_under_bot_is_listed() -> None:
    listed = set(SETUPTOOLS["packages"])
    mapped = set(SETUPTOOLS["package-dir"])
    found = {
        p
        for p in find_namespace_packages(str(ROOT), include=["bot", "bot.*"])
        if (ROOT / p.replace(".", "/") / "__init__.py").exists()
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - mapped == found


def _shipped_files(package: str) -> set[str]:
    folder = ROOT / SETUPTOOLS["package-dir"][package]
    return {
        p.relative_to(folder).as_posix()
        for pattern in SETUPTOOLS["package-data"][package]
        for p in folder.glob(pattern)
        if p.is_file()
    }


def test_data_and_migrations_ship_in_the_wheel() -> None:
    data = _shipped_files("bot._shipped.data")
    yaml_files = {p.relative_to(ROOT / "data").as_posix() for p in (ROOT / "data").rglob("*.yaml")}
    assert yaml_files <= data and "catalogue/ita-2565.yaml" in data
    assert not any(name.endswith((".db", ".env", ".sqlite")) for name in data)
    migrations = _shipped_files("bot._shipped.migrations") | {"env.py"}  # a module, shipped
    versions = {
        p.relative_to(ROOT / "migrations").as_posix()
        for p in (ROOT / "migrations" / "versions").glob("*.py")
    }
    assert versions <= migrations and "script.py.mako" in migrations


def test_shipped_paths_resolve_in_the_checkout() -> None:
    from bot.catalogue.importer import DEFAULT_ALIASES, DEFAULT_CORRECTIONS
    from bot.catalogue.loader import SHIPPED_CATALOGUE
    from bot.holiday_table import SHIPPED_HOLIDAYS
    from bot.services.org import UNITS_FILE
    from bot.store.migrate import MIGRATIONS  # type: ignore[attr-defined]

    assert shipped.ROOT == ROOT  # an editable install reads the checkout's own files
    shipped_files = (SHIPPED_CATALOGUE, UNITS_FILE, DEFAULT_ALIASES, DEFAULT_CORRECTIONS,
                     SHIPPED_HOLIDAYS, MIGRATIONS / "env.py")  # fmt: skip
    for path in shipped_files:
        assert path.is_file() and path.is_relative_to(ROOT)
    assert shipped.label(DEFAULT_ALIASES) == "data/aliases.yaml"
    assert shipped.label(Path("/elsewhere/aliases.yaml")) is None
