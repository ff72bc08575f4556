"""``python -m bot``: the command line.  Each subcommand builds what it needs from Settings.

* :mod:`bot.cli.main` — the parser and :func:`main`;
* :mod:`bot.cli.base` — output, argument types, :func:`~bot.cli.base.in_context`;
* :mod:`bot.cli.errors` — every mistake as one line, and the database check;
* the commands by topic: :mod:`~bot.cli.calendar` (and holidays), :mod:`~bot.cli.catalogue`,
  :mod:`~bot.cli.roster` (db, org, people), :mod:`~bot.cli.invites`,
  :mod:`~bot.cli.operations` (run, dispatch, health, backup, report),
  :mod:`~bot.cli.handin` (oit, the ITAS hand-in).
"""

from bot.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
