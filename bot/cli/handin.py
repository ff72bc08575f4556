"""The ITAS hand-in of a fiscal year: ``python -m bot oit --fy 2570 --out oit.xlsx``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.base import in_context, write_err, write_out
from bot.services.context import AppContext


@in_context()
async def cmd_oit(args: argparse.Namespace, ctx: AppContext) -> int:
    """Write the ITAS hand-in of a fiscal year (XLSX; ``--text`` prints the text too)."""
    from bot.fmt import Fmt
    from bot.reports.oit import build_oit
    from bot.services.org import OrgError

    fmt = Fmt.of(ctx.settings, args.lang)
    try:
        files = await build_oit(ctx, args.fy, org_id=args.org, now=ctx.clock.now(), fmt=fmt)
    except OrgError as exc:
        write_err(f"error: {exc}")
        return 2
    out = Path(args.out or files.filename)
    await asyncio.to_thread(_write, out, files.xlsx)
    write_err(f"wrote {out}: {files.lines[0]} — {files.lines[1]}")
    if args.text:
        write_out("\n".join(files.lines) + "\n")
    return 0


def _write(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
