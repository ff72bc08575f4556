"""Catalogues: import a seed document or a spreadsheet, export, check, adopt."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.catalogue.loader import CatalogueError, load_catalogue
from bot.catalogue.schema import Catalogue, Measure
from bot.cli.base import (
    in_context,
    write_err,
    write_out,
)
from bot.clock import Clock
from bot.config import Settings
from bot.services.context import AppContext

if TYPE_CHECKING:
    pass


def write_catalogue(out: Path, text: str, *, force: bool, now: datetime) -> str:
    """Write a catalogue file; never over another one without ``force``, and keep a backup."""
    if out.exists():
        old = out.read_text(encoding="utf-8")
        if old == text:
            return f"{out} already holds this catalogue: unchanged"
        if not force:
            raise CatalogueError(
                out, None, "exists and differs: not overwritten (use --force; a backup is kept)"
            )
        backup = out.with_name(f"{out.name}.{now:%Y%m%d-%H%M%S}.bak")
        backup.write_text(old, encoding="utf-8")
        out.write_text(text, encoding="utf-8")
        return f"wrote {out} (the previous one is in {backup})"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return f"wrote {out}"


def _import_workbook(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """``catalogue import table.xlsx``: the spreadsheet back into catalogue YAML."""
    from bot.catalogue.loader import dump_catalogue
    from bot.catalogue.sheet import read_workbook

    cat = read_workbook(args.file)
    header = (
        f"# Read by `python -m bot catalogue import` from {Path(args.file).name}.\n"
        "# Edit freely; validated on load.\n\n"
    )
    text = dump_catalogue(cat, header=header)
    out = Path(args.out) if args.out else Path("data/catalogue") / f"ita-{cat.fiscal_year}.yaml"
    if str(out) == "-":
        write_out(text)
        return 0
    done = write_catalogue(out, text, force=args.force, now=clock.now().astimezone(settings.tz))
    write_err(f"{done}: {len(cat.items)} items, {len(cat.activities)} activities")
    return 0


def cmd_catalogue_import(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.catalogue.importer import DEFAULT_CORRECTIONS, import_seed, plural, render_catalogue
    from bot.catalogue.sheet import is_workbook

    if is_workbook(args.file):
        return _import_workbook(args, settings, clock)
    kwargs = {"aliases": args.aliases} if args.aliases else {}
    corrections = None if args.no_corrections else (args.corrections or DEFAULT_CORRECTIONS)
    result = import_seed(
        args.file,
        corrections=corrections,
        expect_items=args.items if args.items is not None else True,
        **kwargs,
    )
    text = render_catalogue(result)
    out = (
        Path(args.out)
        if args.out
        else Path("data/catalogue") / f"ita-{result.catalogue.fiscal_year}.yaml"
    )
    if str(out) == "-":
        for line in result.report():
            write_err(line)
        write_out(text)
        return 0
    done = write_catalogue(out, text, force=args.force, now=clock.now().astimezone(settings.tz))
    for line in result.report():  # once the catalogue is out: a refused --out is one line
        write_err(line)
    cat = result.catalogue
    write_err(
        f"{done}: {len(cat.items)} items, {len(cat.activities)} activities, "
        f"{len(result.fixes)} fixes, {len(result.corrections)} corrections, "
        f"{plural(len(result.warnings), 'warning')}"
    )
    return 0


def cmd_catalogue_export(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """The catalogue as a spreadsheet (or YAML), to edit and import back."""
    from bot.catalogue.loader import SHIPPED_CATALOGUE, dump_catalogue
    from bot.catalogue.sheet import catalogue_workbook

    source = args.file or settings.catalogue_file or SHIPPED_CATALOGUE
    cat = read_catalogue(str(source))
    data = dump_catalogue(cat).encode("utf-8") if args.format == "yaml" else catalogue_workbook(cat)
    out = Path(args.out or f"catalogue-{cat.fiscal_year}.{args.format}")
    if out.exists() and not args.force:
        raise CatalogueError(out, None, "exists: not overwritten (use --force)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    write_err(
        f"wrote {out}: {len(cat.items)} items, {len(cat.activities)} activities from {source}"
    )
    return 0


def cmd_catalogue_adopt(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """An office follows an edition in a fiscal year; other years are not touched."""
    from bot.services.adoption import adopt_for_offices, describe

    shared = read_catalogue(args.file)
    measures: tuple[Measure, ...] | None = None
    if args.no_measures:
        measures = ()
    elif args.measures:
        measures = read_catalogue(args.measures).measures

    @in_context()
    async def go(args: argparse.Namespace, ctx: AppContext) -> int:
        report = await adopt_for_offices(
            ctx,
            shared,
            args.fy,
            clock.now(),
            org_id=args.org,
            every_office=args.all,
            measures=measures,
        )
        write_out(describe(report))
        return 0

    return go(args, settings, clock)


def read_catalogue(path: str) -> Catalogue:
    """A catalogue file: YAML, or a workbook written by ``catalogue export``."""
    from bot.catalogue.sheet import is_workbook, read_workbook

    return read_workbook(path) if is_workbook(path) else load_catalogue(path)


def cmd_catalogue_check(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    cat = read_catalogue(args.file)
    write_out(
        f"{args.file}: OK — {cat.edition}, {len(cat.items)} items, {len(cat.measures)} measures, "
        f"{len(cat.activities)} activities, {len(cat.roles)} roles\n"
    )
    return 0
