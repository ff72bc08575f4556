"""Reading and writing catalogue YAML files, with errors that name the file and line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.catalogue.schema import Catalogue
from bot.shipped import data_file

SHIPPED_CATALOGUE = data_file("catalogue", "ita-2565.yaml")


class CatalogueError(ValueError):
    """A catalogue (or its source) is malformed.  ``str()`` reads ``file:line: message``,
    or ``file:sheet:row: message`` for a workbook."""

    def __init__(
        self, path: str | Path, line: int | None, message: str, *, sheet: str | None = None
    ) -> None:
        self.path = str(path)
        self.line = line
        self.sheet = sheet
        self.message = message
        where = self.path + (f":{sheet}" if sheet else "") + (f":{line}" if line else "")
        super().__init__(f"{where}: {message}")


#: where each part of the data was written: a line of YAML, or a workbook's (sheet, row)
Where = tuple[str | None, int]


def _line_map(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _line_map(child, (*path, i), out)


_CODE_RE = re.compile(r"\b(O[1-9][0-9]*|M[1-9][0-9]*(?:\.[1-9][0-9]*)?)\b")


def _line_of_code(data: Any, lines: dict[tuple[Any, ...], Where], code: str) -> Where | None:
    """The line of the last entry with ``code`` (for a duplicate, the second one)."""
    found: Where | None = None
    if not isinstance(data, dict):
        return None
    for i, it in enumerate(data.get("items") or []):
        if isinstance(it, dict) and str(it.get("code")) == code:
            found = lines.get(("items", i))
    for i, m in enumerate(data.get("measures") or []):
        if not isinstance(m, dict):
            continue
        if str(m.get("code")) == code:
            found = lines.get(("measures", i))
        for j, a in enumerate(m.get("activities") or []):
            if isinstance(a, dict) and str(a.get("code")) == code:
                found = lines.get(("measures", i, "activities", j))
    return found


def parse_catalogue(text: str, path: str | Path = "<catalogue>") -> Catalogue:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise CatalogueError(path, line, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if node is None or not isinstance(data, dict):
        raise CatalogueError(
            path, 1, "expected a mapping with edition, fiscal_year, roles and items"
        )
    lines: dict[tuple[Any, ...], int] = {}
    _line_map(node, (), lines)
    return validate_catalogue(data, path, {k: (None, v) for k, v in lines.items()})


def validate_catalogue(
    data: Any, path: str | Path, where: dict[tuple[Any, ...], Where]
) -> Catalogue:
    """Validate catalogue data; an error names the file and where (``where``) the part was."""
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        at: Where | None = None
        for n in range(len(loc), 0, -1):
            if loc[:n] in where:
                at = where[loc[:n]]
                break
        prefix = ""
        if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
            items = data.get("items") or []
            if loc[1] < len(items) and isinstance(items[loc[1]], dict):
                prefix = f"{items[loc[1]].get('code', f'item #{loc[1] + 1}')}: "
            field = ".".join(str(p) for p in loc[2:])
            if field:
                prefix += f"{field}: "
        elif loc:
            prefix = ".".join(str(p) for p in loc) + ": "
        if at is None or not loc:
            m = _CODE_RE.search(msg)
            if m:
                at = _line_of_code(data, where, m.group(1)) or at
        extra = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        sheet, line = at if at is not None else (None, None)
        raise CatalogueError(path, line, f"{prefix}{msg}{extra}", sheet=sheet) from None


def not_utf8(exc: UnicodeDecodeError) -> tuple[int, str]:
    """The line of the first byte that is not UTF-8, and what to do about it."""
    data = exc.object if isinstance(exc.object, bytes) else b""
    byte = f" (byte 0x{data[exc.start]:02x})" if data else ""
    return data[: exc.start].count(b"\n") + 1, (
        f"not UTF-8 text{byte} — save it as UTF-8; a file from Thai Windows is often "
        "cp874: iconv -f cp874 -t utf-8 OLD > NEW"
    )


def read_utf8(path: Path) -> str:
    """A text file, or :class:`CatalogueError` naming it (and where it is not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(path, None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CatalogueError(path, *not_utf8(exc)) from None


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    p = Path(path) if path is not None else SHIPPED_CATALOGUE
    return parse_catalogue(read_utf8(p), p)


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_presenter)


def dump_catalogue(cat: Catalogue, *, header: str = "") -> str:
    """Human-editable YAML: stable key order, Thai unescaped, defaults left out."""
    data = cat.model_dump(mode="json", exclude_defaults=True)
    # keep the role/stage fields explicit even when they equal a default
    body = yaml.dump(
        data,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=1000,
        default_flow_style=False,
    )
    return header + body
