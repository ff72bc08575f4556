"""The running bot's periodic jobs are the ones README's "Jobs" table lists, on the schedule
it gives: a job added, dropped or moved without the README changing fails here."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from telegram.ext import Job

from bot.app import build_application
from tests.support.world import test_settings as settings_for

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_jobs() -> dict[str, str]:
    """README's Jobs table: job name → its "when" cell."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Jobs\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", section, flags=re.MULTILINE)
    return {name: when.strip() for name, when in rows}


# the setting that gives each interval job's period
INTERVAL_SETTINGS = {
    "tick": "TICK_SECONDS",
    "reports": "TICK_SECONDS",
    "link_check": "LINK_CHECK_INTERVAL_SECONDS",
}


def when_of(job: Job[Any]) -> str:
    """How README says a trigger's schedule."""
    trigger = job.job.trigger
    if isinstance(trigger, IntervalTrigger):
        setting = INTERVAL_SETTINGS[job.name or ""]
        seconds = int(trigger.interval.total_seconds())
        assert seconds == getattr(settings_for(), setting.lower()), (job.name, seconds)
        period = f"{seconds} s" if seconds < 60 else f"{seconds // 60} min"
        return f"every {period} (`{setting}`)"
    assert isinstance(trigger, CronTrigger)
    fields = {f.name: str(f) for f in trigger.fields}
    days = fields["day_of_week"]
    assert fields["day"] == "*" and (days == "*" or len(days.split(",")) == 7), fields
    return f"daily at {int(fields['hour']):02d}:{int(fields['minute']):02d}"


def test_the_job_queue_is_the_readme_list() -> None:
    app = build_application(settings_for())
    assert app.job_queue is not None
    jobs = {j.name: when_of(j) for j in app.job_queue.jobs() if j.name}
    assert jobs == readme_jobs()
    assert {"tick", "reports", "materialise"} <= set(jobs)


def test_reports_run_on_every_tick() -> None:
    app = build_application(settings_for(tick_seconds=20))
    assert app.job_queue is not None
    by_name = {j.name: j.job.trigger for j in app.job_queue.jobs()}
    assert by_name["reports"].interval == by_name["tick"].interval == timedelta(seconds=20)
