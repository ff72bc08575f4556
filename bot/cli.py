"""``python -m bot``: the command line.  Each subcommand builds what it needs from Settings."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.catalogue.loader import CatalogueError, load_catalogue
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.schedule.fiscal import fiscal_year

Command = Callable[[argparse.Namespace, Settings, Clock], int]


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")


# -- calendar -------------------------------------------------------------------------------


def cmd_calendar(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.calendar_export import fiscal_year_rows, to_csv, to_ics, to_table

    catalogue = load_catalogue(args.catalogue or settings.catalogue_file)
    fy = args.fy or fiscal_year(clock.now().astimezone(settings.tz).date())
    role_key = None
    if args.role:
        role = catalogue.find_role(args.role)
        if role is None:
            known = ", ".join(f"{r.key} ({r.name})" for r in catalogue.roles)
            _err(f"unknown role {args.role!r}; known roles: {known}")
            return 2
        role_key = role.key
    item = args.item.strip().upper() if args.item else None
    if item and catalogue.item(item) is None and catalogue.activity(item) is None:
        _err(
            f"unknown item {args.item!r}: use O1..O{len(catalogue.items)} or an activity such as M1.1"
        )
        return 2
    rows = fiscal_year_rows(
        catalogue,
        fy,
        settings.schedule,
        role=role_key,
        item=item,
        extra_holidays=settings.extra_holidays,
    )
    if args.format == "csv":
        _out(to_csv(rows))
    elif args.format == "table":
        _out(to_table(rows, fy, thai_digits=settings.thai_digits))
    else:
        stamp = clock.now()
        by_role: dict[str, list] = {}  # type: ignore[type-arg]
        for r in rows:
            by_role.setdefault(r.role_key, []).append(r)
        if args.out is None and role_key is not None:
            _out(to_ics(by_role.get(role_key, []), catalogue.role(role_key).name, fy, stamp=stamp))
            return 0
        out_dir = Path(args.out or f"calendar-{fy}")
        out_dir.mkdir(parents=True, exist_ok=True)
        for key, role_rows in sorted(by_role.items()):
            path = out_dir / f"{key}.ics"
            path.write_text(
                to_ics(role_rows, catalogue.role(key).name, fy, stamp=stamp),
                encoding="utf-8",
                newline="",
            )
            _err(f"wrote {path} ({len(role_rows)} events)")
    return 0


# -- catalogue ------------------------------------------------------------------------------


def cmd_catalogue_import(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.catalogue.importer import import_seed, render_catalogue

    kwargs = {"aliases": args.aliases} if args.aliases else {}
    result = import_seed(args.file, **kwargs)
    for fix in result.fixes:
        _err(f"fixed: {fix}")
    text = render_catalogue(result)
    out = (
        Path(args.out)
        if args.out
        else Path("data/catalogue") / f"ita-{result.catalogue.fiscal_year}.yaml"
    )
    if str(out) == "-":
        _out(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        _err(
            f"wrote {out}: {len(result.catalogue.items)} items, "
            f"{len(result.catalogue.activities)} activities, {len(result.fixes)} fixes"
        )
    return 0


def cmd_catalogue_check(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    cat = load_catalogue(args.file)
    _out(
        f"{args.file}: OK — {cat.edition}, {len(cat.items)} items, {len(cat.measures)} measures, "
        f"{len(cat.activities)} activities, {len(cat.roles)} roles\n"
    )
    return 0


# -- wiring ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bot",
        description="The ITA duty bot: reminds a Thai local office of its OIT disclosure duties.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cal = sub.add_parser("calendar", help="print every deadline of a fiscal year")
    cal.add_argument("--fy", type=int, help="BE fiscal year, e.g. 2570 (default: the current one)")
    cal.add_argument("--format", choices=("table", "csv", "ics"), default="table")
    cal.add_argument("--role", help="only this role (key or Thai name, e.g. นักวิเคราะห์)")
    cal.add_argument("--item", help="only this item (O1..O43) or activity (M1.1)")
    cal.add_argument("--catalogue", help="catalogue YAML (default: the shipped one)")
    cal.add_argument("--out", help="ics: folder for one file per role (default calendar-<fy>/)")
    cal.set_defaults(func=cmd_calendar)

    cat = sub.add_parser("catalogue", help="import or check a duty catalogue")
    cat_sub = cat.add_subparsers(dest="catalogue_command", metavar="ACTION", required=True)
    imp = cat_sub.add_parser("import", help="turn a seed document into a catalogue YAML")
    imp.add_argument("file", help="the seed text, e.g. data/seed/000_c89b0b1080fe7d54.txt")
    imp.add_argument(
        "--out", help="where to write (default data/catalogue/ita-<fy>.yaml; - for stdout)"
    )
    imp.add_argument("--aliases", help="alias tables (default data/aliases.yaml)")
    imp.set_defaults(func=cmd_catalogue_import)
    chk = cat_sub.add_parser("check", help="validate a catalogue YAML")
    chk.add_argument("file")
    chk.set_defaults(func=cmd_catalogue_check)

    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = settings or Settings()
    clock = clock or SystemClock()
    func: Command = args.func
    try:
        return func(args, settings, clock)
    except CatalogueError as exc:
        _err(f"error: {exc}")
        return 1
