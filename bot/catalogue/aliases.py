"""The importer's tables (``data/aliases.yaml``): spellings, phrases, columns, editions.

Data, not code: a new office's document that spells a role, a frequency or a column
heading differently needs a line there, not a change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.catalogue.loader import CatalogueError
from bot.catalogue.schema import Role
from bot.catalogue.seedtext import norm
from bot.domain import CHAIN, FrequencyKind, Stage
from bot.shipped import data_file
from bot.shipped import label as shipped_label

DEFAULT_ALIASES = data_file("aliases.yaml")


def source_label(path: Path) -> str:
    """``data/aliases.yaml`` for a shipped file (in a checkout or a wheel), else the file name."""
    return shipped_label(path) or path.name


@dataclass(frozen=True)
class Aliases:
    label: str
    roles: tuple[Role, ...]
    role_by_name: dict[str, Role]  # whitespace-free spelling → role
    frequencies: dict[str, FrequencyKind]  # whitespace-free phrase → kind
    lookalikes: dict[str, str]
    columns: dict[str, Stage]  # whitespace-free role-column heading → stage
    organisations: tuple[str, ...]  # how an office's full name begins
    item_counts: dict[int, int]  # ITA year → how many OIT items its numbering has

    def find_role(self, written: str) -> Role | None:
        return self.role_by_name.get(norm(written))

    def stage_of_column(self, heading: str) -> Stage | None:
        return self.columns.get(norm(heading))


def _roles(data: Any) -> tuple[tuple[Role, ...], dict[str, Role]]:
    roles = tuple(Role.model_validate(r) for r in data["roles"])
    role_by_name: dict[str, Role] = {}
    for role in roles:
        for name in role.names():
            if role_by_name.setdefault(norm(name), role) is not role:
                raise ValueError(f"role name {name!r} is used by two roles")
    return roles, role_by_name


def _columns(data: Any) -> dict[str, Stage]:
    columns: dict[str, Stage] = {}
    for stage_name, headings in (data.get("columns") or {}).items():
        stage = Stage(stage_name)
        if stage not in CHAIN:
            raise ValueError(f"columns: {stage_name} is not prepare, collect or publish")
        for heading in headings:
            columns[norm(str(heading))] = stage
    if not columns:
        columns = {"จัดทำ": Stage.PREPARE, "รวบรวม": Stage.COLLECT, "เผยแพร่": Stage.PUBLISH}
    return columns


def load_aliases(path: Path = DEFAULT_ALIASES) -> Aliases:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(path, None, f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(path, None, f"not valid YAML: {exc}") from None
    try:
        roles, role_by_name = _roles(data)
        frequencies = {
            norm(phrase): FrequencyKind(entry["kind"])
            for entry in data["frequencies"]
            for phrase in entry["phrases"]
        }
        lookalikes = {str(k): str(v) for k, v in (data.get("lookalikes") or {}).items()}
        if any(len(k) != 1 for k in lookalikes):
            raise ValueError("lookalikes keys must be single characters")
        organisations = tuple(str(p) for p in data.get("organisations") or ())
        counts = {int(k): int(v) for k, v in (data.get("item_counts") or {}).items()}
        columns = _columns(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        message = str(exc) if not isinstance(exc, ValidationError) else exc.errors()[0]["msg"]
        raise CatalogueError(path, None, f"malformed alias tables: {message}") from None
    return Aliases(
        source_label(path),
        roles,
        role_by_name,
        frequencies,
        lookalikes,
        columns,
        organisations or ("องค์การบริหารส่วนตำบล",),
        counts,
    )
