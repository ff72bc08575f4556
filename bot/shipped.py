"""The files the bot ships beside its code: the catalogue, the data tables, the migrations.

They live in the repository's top-level ``data/`` and ``migrations/`` folders.  A wheel
(``pip install .``) carries copies of them inside the package, in ``bot/_shipped/``
(``pyproject.toml`` maps the two folders there).  Every path to a shipped file is made
here, so code never counts ``parents[…]`` of its own file::

    from bot.shipped import data_file
    SHIPPED_HOLIDAYS = data_file("holidays.yaml")      # data/holidays.yaml

A new file under ``data/`` ships by itself when ``pyproject.toml``'s globs for
``bot._shipped.data`` match it (``*.yaml`` at any depth does);
``tests/test_packaging.py`` says so when one does not.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

#: the folder holding ``data/`` and ``migrations/``: ``bot/_shipped`` in an installed
#: wheel, else the source checkout (an editable install reads the checkout's files)
ROOT = _PACKAGE / "_shipped" if (_PACKAGE / "_shipped" / "data").is_dir() else _PACKAGE.parent

DATA = ROOT / "data"
MIGRATIONS = ROOT / "migrations"


def data_file(*parts: str) -> Path:
    """A shipped file under ``data/``: ``data_file("catalogue", "ita-2565.yaml")``."""
    return DATA.joinpath(*parts)


def label(path: Path) -> str | None:
    """``data/aliases.yaml`` for a shipped file (the same in a checkout and in a wheel),
    or None for a file of the user's own."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return None
