"""``config/example.env`` lists every setting of ``bot/config.py`` — a setting added later
fails here until it is documented — and each default it shows is the real default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import Settings

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "example.env"
LINE = re.compile(r"^(?P<commented>#\s*)?(?P<key>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def documented() -> dict[str, tuple[bool, str]]:
    """KEY → (commented out, value), for every ``KEY=…`` or ``# KEY=…`` line."""
    found = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = LINE.match(line.strip())
        if m:
            found[m["key"]] = (bool(m["commented"]), m["value"].strip())
    return found


def nested(field: str) -> type[BaseModel] | None:
    annotation = Settings.model_fields[field].annotation
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def variables() -> set[str]:
    """Every variable a person can set: a nested model's fields one by one (SCHEDULE__X)."""
    out = set()
    for field in Settings.model_fields:
        model = nested(field)
        if model is not None and any(k.startswith(f"{field.upper()}__") for k in documented()):
            out |= {f"{field.upper()}__{sub.upper()}" for sub in model.model_fields}
        else:
            out.add(field.upper())
    return out


def test_every_setting_is_documented_and_nothing_else() -> None:
    keys = set(documented())
    assert variables() - keys == set(), "document these in config/example.env"
    assert keys - variables() == set(), "config/example.env names settings that do not exist"


def test_the_defaults_shown_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    defaults = Settings(_env_file=None)
    for key, (commented, value) in documented().items():
        field, _, sub = key.lower().partition("__")
        info = Settings.model_fields[field]
        if not commented or (info.default_factory is not None and not sub) or info.default is None:
            continue  # a value to fill in, or an example for a setting without a fixed default
        monkeypatch.setenv(key, value)
        shown = Settings(_env_file=None)
        monkeypatch.delenv(key)
        want, got = getattr(defaults, field), getattr(shown, field)
        if sub:
            want, got = getattr(want, sub), getattr(got, sub)
        assert got == want, f"{key}={value} in config/example.env, but the default is {want!r}"
