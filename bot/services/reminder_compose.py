"""Composing one office's due reminder slots: what each stage's claim writes, and the messages.

Pure work on rows already read (:mod:`bot.services.reminders` reads and writes them): no
statement is issued here, so the tick can compose a batch of offices between two short
transactions and yield to the event loop between offices.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.catalogue.schema import Catalogue
from bot.domain import OccStatus, TaskLine
from bot.domain.fiscal import fiscal_year
from bot.fmt import Fmt
from bot.schedule.reminders import next_slot, reminder_of
from bot.schedule.workdays import DayChanges
from bot.services.audience import Recipient, head_audience
from bot.services.calendars import OfficeCalendar
from bot.services.context import AppContext
from bot.services.outbox import Message
from bot.services.tasklist import Part, render_reminders
from bot.store.models import OrgRole, Person
from bot.textfit import split_lines


@dataclass(frozen=True)
class Due:
    """A due stage as the tick reads it (the columns of :data:`bot.services.reminders.DUE`)."""

    id: int
    org_id: int
    fiscal_year: int
    catalogue_id: int
    code: str
    kind: str
    stage: str
    status: str
    current_role: str | None
    current_due: date | None
    due_moved_from: date | None
    period_key: str
    covers_key: str | None
    next_remind_at: datetime
    last_reminded_at: datetime | None
    escalated_at: datetime | None
    version: int

    @classmethod
    def of(cls, row: Any) -> Due:
        return cls(*row)


@dataclass(frozen=True)
class Claim:
    """What the conditional claim writes to one stage: taken only if ``next_remind_at`` and
    ``version`` are still what the tick read (``old``, ``version``)."""

    id: int
    old: datetime
    version: int
    at: datetime | None  # the next slot (None: nothing more to remind)
    last: datetime | None
    moved: date | None
    esc: datetime | None


@dataclass
class TickCache:
    """What does not change within a tick: role names, head roles, catalogues by id."""

    role_names: dict[str, str]
    heads: list[str]
    catalogues: dict[int, Catalogue | None] = field(default_factory=dict)
    #: next slots by (deadline, fiscal year, the office's own days): the same for every
    #: office on the government calendar, and ``now`` is the tick's
    slots: dict[tuple[date, int, DayChanges], datetime] = field(default_factory=dict)

    def title(self, d: Due) -> str:
        cat = self.catalogues.get(d.catalogue_id)
        return cat.title_of(d.code) if cat else d.code


@dataclass(frozen=True)
class Office:
    """One office's share of a batch: its calendar, role holders and the roles that have a
    group chat linked (``roles``: a role without one is left out)."""

    org_id: int
    cals: OfficeCalendar
    holders: dict[str, list[Person]]
    roles: dict[str, OrgRole]


@dataclass
class Composed:
    claims: list[Claim] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    stages: int = 0
    escalations: int = 0


def compose_office(
    ctx: AppContext, cache: TickCache, office: Office, dues: list[Due], now: datetime
) -> Composed:
    """Claims for every due stage of ``office``, and the messages they make."""
    out = Composed()
    today = now.astimezone(ctx.tz).date()
    if not office.cals(fiscal_year(today)).is_working_day(today):
        out.claims = _postponed(ctx, office.cals, dues, now)  # the office's own day off
        return out
    after, slot = reminder_of(now, ctx.policy, ctx.tz)
    lines = _Lines()
    for d in dues:
        claim, line = _stage(ctx, cache, office, d, now, after)
        out.claims.append(claim)
        if line is None:
            continue
        out.stages += 1
        lines.add(office, d, line)
        if claim.esc is not None and d.escalated_at is None:
            lines.escalate.append((d, line))
    out.messages += _reminders(ctx, cache, office, lines, today, slot)
    audience = head_audience(
        cache.heads, office.holders, office.roles, ctx.settings.default_language
    )
    if lines.escalate:
        out.escalations = len(lines.escalate)
        out.messages += _escalations(ctx, cache, office, lines.escalate, audience, today, slot)
    if lines.unreachable:
        out.messages += unreachable_notices(
            ctx, office.org_id, lines.unreachable, office.holders, cache.role_names, audience, now
        )
    return out


@dataclass
class _Lines:
    by_person: dict[int, list[TaskLine]] = field(default_factory=lambda: defaultdict(list))
    people: dict[int, Person] = field(default_factory=dict)
    by_group: dict[str, list[TaskLine]] = field(default_factory=lambda: defaultdict(list))
    unreachable: dict[str, list[TaskLine]] = field(default_factory=lambda: defaultdict(list))
    escalate: list[tuple[Due, TaskLine]] = field(default_factory=list)

    def add(self, office: Office, d: Due, line: TaskLine) -> None:
        role = d.current_role or ""
        reachable = [p for p in office.holders.get(role, []) if p.reachable]
        for p in reachable:
            self.by_person[p.id].append(line)
            self.people[p.id] = p
        group = office.roles.get(role)
        if group is not None and group.group_chat_id is not None:
            self.by_group[role].append(line)
        if not reachable and (group is None or group.group_chat_id is None):
            self.unreachable[role].append(line)


def _stage(
    ctx: AppContext, cache: TickCache, office: Office, d: Due, now: datetime, after: datetime
) -> tuple[Claim, TaskLine | None]:
    """One claimed stage: its claim, and its line if it is to be reminded (a stage that is
    not open, or has no deadline or role, is claimed and left without a next slot).  Its
    next slot is the first after ``after`` (see :func:`~bot.schedule.reminders.reminder_of`)."""
    if d.status != OccStatus.OPEN or d.current_due is None or d.current_role is None:
        keep = Claim(
            d.id,
            d.next_remind_at,
            d.version,
            None,
            d.last_reminded_at,
            d.due_moved_from,
            d.escalated_at,
        )
        return keep, None
    cal = office.cals(d.fiscal_year)
    line = TaskLine(
        d.id,
        d.code,
        cache.title(d),
        d.stage,
        d.current_due,
        d.kind,
        d.covers_key or d.period_key,
        moved_from=d.due_moved_from,
    )
    today = now.astimezone(ctx.tz).date()
    overdue = cal.between(d.current_due, today) if today > d.current_due else 0
    escalate = d.escalated_at is None and overdue >= ctx.policy.escalate_after
    key = (d.current_due, d.fiscal_year, office.cals.changes)
    at = cache.slots.get(key)
    if at is None:
        at = cache.slots[key] = next_slot(d.current_due, after, cal, ctx.policy, ctx.tz).at
    claim = Claim(
        d.id,
        d.next_remind_at,
        d.version,
        at,
        now,
        None,  # moved_from: told now
        now if escalate else d.escalated_at,
    )
    return claim, line


def _postponed(
    ctx: AppContext, cals: OfficeCalendar, dues: list[Due], now: datetime
) -> list[Claim]:
    """Claimed on a day the office is closed: each open stage waits for its next slot."""
    out = []
    for d in dues:
        at = None
        if d.status == OccStatus.OPEN and d.current_due is not None:
            at = next_slot(d.current_due, now, cals(d.fiscal_year), ctx.policy, ctx.tz).at
        out.append(
            Claim(
                d.id,
                d.next_remind_at,
                d.version,
                at,
                d.last_reminded_at,
                d.due_moved_from,
                d.escalated_at,
            )
        )
    return out


def _parts(
    parts: list[Part], *, org_id: int, person_id: int | None, chat_id: int, key: str
) -> list[Message]:
    """A reminder in as many messages as it needs; each remembers the items it lists (so a
    reply to it means them).  The first keeps the plain dedupe key."""
    return [
        Message(
            chat_id=chat_id,
            kind="reminder",
            dedupe_key=key + (f":{k}" if k else ""),
            text=part.text,
            org_id=org_id,
            person_id=person_id,
            reply_markup=part.markup,
            items=part.items,
        )
        for k, part in enumerate(parts)
    ]


def _reminders(
    ctx: AppContext, cache: TickCache, office: Office, lines: _Lines, today: date, slot: str
) -> list[Message]:
    """One reminder per person per slot, and one per role's group chat."""
    out: list[Message] = []
    for pid, items in lines.by_person.items():
        p = lines.people[pid]
        fmt = Fmt.of(ctx.settings, p.language)
        out += _parts(
            render_reminders(fmt, items, today),
            org_id=office.org_id,
            person_id=pid,
            chat_id=p.chat_id or 0,
            key=f"remind:{pid}:{slot}",
        )
    for role_key, items in lines.by_group.items():
        fmt = Fmt.of(ctx.settings)
        role = cache.role_names.get(role_key, role_key)
        header = fmt.t("rem.group_header", role=role, date=fmt.date(today))
        out += _parts(
            render_reminders(fmt, items, today, header=header),
            org_id=office.org_id,
            person_id=None,
            chat_id=office.roles[role_key].group_chat_id or 0,
            key=f"remind-group:{office.org_id}:{role_key}:{slot}",
        )
    return out


def _escalations(
    ctx: AppContext,
    cache: TickCache,
    office: Office,
    escalate: list[tuple[Due, TaskLine]],
    audience: list[Recipient],
    today: date,
    slot: str,
) -> list[Message]:
    """The head hears of each stage overdue by ``escalate_after`` working days, once."""
    out: list[Message] = []
    for r in audience:
        fmt = Fmt.of(ctx.settings, r.lang)
        texts = []
        for d, ln in escalate:
            role = d.current_role or ""
            names = ", ".join(p.name for p in office.holders.get(role, [])) or fmt.t("esc.nobody")
            overdue = office.cals(d.fiscal_year).between(ln.due, today)
            texts.append(
                fmt.t(
                    "esc.line",
                    code=ln.code,
                    title=ln.title,
                    stage=fmt.stage(ln.stage),
                    role=cache.role_names.get(role, role),
                    holders=names,
                    overdue=fmt.num(overdue),
                )
            )
        n, day = fmt.num(ctx.policy.escalate_after), fmt.date(today)
        parts = split_lines(texts, head=fmt.t("esc.header", n=n, date=day) + "\n")
        key = f"escalate:{office.org_id}:{r.chat_id}:{slot}"
        out += [
            Message(
                chat_id=r.chat_id,
                kind="escalation",
                dedupe_key=key + (f":{k}" if k else ""),
                text=text,
                org_id=office.org_id,
                person_id=r.person_id,
                items=[d.id for d, _ in escalate],
            )
            for k, text in enumerate(parts)
        ]
    return out


def unreachable_notices(
    ctx: AppContext,
    org_id: int,
    unreachable: dict[str, list[TaskLine]],
    holders: dict[str, list[Person]],
    role_names: dict[str, str],
    audience: list[Recipient],
    now: datetime,
) -> list[Message]:
    """Tell the head, once a day, which roles have open work and nobody to receive it."""
    today = now.astimezone(ctx.tz).date()
    out = []
    for r in audience:
        fmt = Fmt.of(ctx.settings, r.lang)
        lines = []
        for role_key, items in sorted(unreachable.items()):
            reason = "unreach.reason.inactive" if holders.get(role_key) else "unreach.reason.none"
            lines.append(
                fmt.t(
                    "unreach.role",
                    role=role_names.get(role_key, role_key),
                    reason=fmt.t(reason),
                    n=fmt.num(len(items)),
                )
            )
        text = "\n".join(
            [fmt.t("unreach.header", date=fmt.date(today)), "", *lines, "", fmt.t("unreach.hint")]
        )
        key = f"unreachable:{org_id}:{r.chat_id}:{today.isoformat()}"
        out.append(
            Message(
                chat_id=r.chat_id,
                kind="unreachable",
                dedupe_key=key,
                text=text,
                org_id=org_id,
                person_id=r.person_id,
            )
        )
    return out
