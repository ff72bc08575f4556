"""What the head receives: the weekly digest, and the quarterly, six-month and annual reports.

* queries → dataclasses (nothing rendered, nothing committed): :mod:`bot.reports.view`
  (an office's people and roles), :mod:`bot.reports.readiness` (ITA readiness),
  :mod:`bot.reports.digest_data` (progress, changes, who cannot be reached),
  :mod:`bot.reports.period_report` (a period's per-occurrence results);
* :mod:`bot.reports.digest`, :mod:`bot.reports.summary` — the chat messages;
* :mod:`bot.reports.xlsx` — the report workbook (summary, items, measures; prints on A4);
* :mod:`bot.reports.chart` — the charts, in Sarabun;
* :mod:`bot.reports.service` — when they are due, building them, queueing them once.

matplotlib and openpyxl are imported only when a chart or a workbook is built.
"""

from bot.reports.digest_data import digest_data
from bot.reports.period_report import (
    ReportPeriodError,
    Result,
    Scope,
    parse_report_period,
    report_data,
)
from bot.reports.readiness import Readiness, ReadyState, assess_readiness
from bot.reports.service import (
    Delivery,
    Outgoing,
    ReportError,
    ReportFiles,
    build_report_files,
    default_report_period,
    render_digest_files,
    render_report_files,
    report_due,
    run_due_reports,
    weekly_due,
)

__all__ = [
    "Delivery",
    "Outgoing",
    "Readiness",
    "ReadyState",
    "ReportError",
    "ReportFiles",
    "ReportPeriodError",
    "Result",
    "Scope",
    "assess_readiness",
    "build_report_files",
    "default_report_period",
    "digest_data",
    "parse_report_period",
    "render_digest_files",
    "render_report_files",
    "report_data",
    "report_due",
    "run_due_reports",
    "weekly_due",
]
