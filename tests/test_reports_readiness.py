"""ITA readiness (see :func:`bot.reports.readiness.assess_readiness` for the definition) and the
days left until the OIT collection window."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count

from bot.domain import DueDate
from bot.reports.readiness import ReadyState, assess_readiness, next_oit_window
from bot.store.models import Occurrence
from tests.support.catalogues import tiny_catalogue

CAT = tiny_catalogue()  # O1 on change, O10 yearly, O11 six-monthly, O23 monthly, O35 yearly
WINDOW = date(2027, 3, 1)
_ids = count(1)


def occ(
    code: str,
    period: str,
    start: date,
    due: date,
    status: str = "open",
    *,
    kind: str = "periodic",
    url: str | None = None,
) -> Occurrence:
    return Occurrence(
        id=next(_ids),
        code=code,
        kind=kind,
        period_key=period,
        period_start=start,
        period_end=start,
        due_date=due,
        status=status,
        evidence_url=url,
        completed_at=datetime(2026, 1, 1, tzinfo=UTC) if status == "done" else None,
    )


def states(occs: list[Occurrence], today: date) -> dict[str, ReadyState]:
    r = assess_readiness(CAT, occs, today, WINDOW)
    return {i.code: i.state for i in r.items}


def test_a_monthly_item_is_ready_when_its_last_fallen_due_report_is_published() -> None:
    oct_ = occ("O23", "2570M10", date(2026, 10, 1), date(2026, 11, 10), "done", url="https://a")
    nov = occ("O23", "2570M11", date(2026, 11, 1), date(2026, 12, 9))
    dec = occ("O23", "2570M12", date(2026, 12, 1), date(2027, 1, 8))
    # 1 Dec: October's report is the current one, and it is published
    assert states([oct_, nov, dec], date(2026, 12, 1))["O23"] is ReadyState.PUBLISHED
    # its due date is not past yet on 9 Dec: still October's
    assert states([oct_, nov, dec], date(2026, 12, 9))["O23"] is ReadyState.PUBLISHED
    # 10 Dec: November's fell due and is not published: overdue
    assert states([oct_, nov, dec], date(2026, 12, 10))["O23"] is ReadyState.OVERDUE
    # a later report published (December's, early) also makes it ready
    dec_done = occ("O23", "2570M12", date(2026, 12, 1), date(2027, 1, 8), "done", url="https://c")
    assert states([oct_, nov, dec_done], date(2026, 12, 10))["O23"] is ReadyState.PUBLISHED


def test_before_tracking_pending_not_applicable_and_missing() -> None:
    before = occ("O23", "2570M10", date(2026, 10, 1), date(2026, 11, 10), "before_tracking")
    yearly = occ("O10", "2570", date(2026, 10, 1), date(2026, 12, 30))
    half = occ("O11", "2570H1", date(2026, 10, 1), date(2027, 4, 30), "not_applicable")
    result = states([before, yearly, half], date(2026, 12, 1))
    assert result == {
        "O1": ReadyState.NO_URL,  # nothing ever published
        "O10": ReadyState.PENDING,  # its first period is not due yet
        "O11": ReadyState.NOT_APPLICABLE,  # recorded as not applicable (early)
        "O23": ReadyState.BEFORE_TRACKING,  # fell due before tracking: no evidence on record
        "O35": ReadyState.MISSING,  # no occurrence at all
    }
    r = assess_readiness(CAT, [before, yearly, half], date(2026, 12, 1), WINDOW)
    assert (r.ready, r.total, r.days_left) == (1, 5, 90)
    assert r.not_ready()[ReadyState.NO_URL] == ["O1"]


def test_a_published_yearly_item_stays_ready_until_next_years_falls_due() -> None:
    y69 = occ("O10", "2569", date(2025, 10, 1), date(2025, 12, 30), "done", url="https://y69")
    y70 = occ("O10", "2570", date(2026, 10, 1), date(2026, 12, 30))
    assert states([y69, y70], date(2026, 12, 30))["O10"] is ReadyState.PUBLISHED
    assert states([y69, y70], date(2026, 12, 31))["O10"] is ReadyState.OVERDUE


def test_an_on_change_item_needs_a_url_and_its_confirmations() -> None:
    change = occ(
        "O1", "2570C20261201", date(2026, 12, 1), date(2026, 12, 4), "done",
        kind="change", url="https://o1",
    )  # fmt: skip
    q1 = occ("O1", "2570Q1", date(2026, 10, 1), date(2026, 12, 30), kind="confirm")
    q1_done = occ("O1", "2570Q1", date(2026, 10, 1), date(2026, 12, 30), "done", kind="confirm")
    q2 = occ("O1", "2570Q2", date(2027, 1, 1), date(2027, 3, 31), kind="confirm")
    assert states([q1, q2], date(2026, 12, 10))["O1"] is ReadyState.NO_URL
    assert states([change, q1, q2], date(2026, 12, 10))["O1"] is ReadyState.PUBLISHED
    # Q1's confirmation fell due (30 Dec) and is still open
    assert states([change, q1, q2], date(2027, 1, 4))["O1"] is ReadyState.CONFIRM_OVERDUE
    assert states([change, q1_done, q2], date(2027, 1, 4))["O1"] is ReadyState.PUBLISHED
    # a reported change left open past its due date
    late = occ("O1", "2570C20270105", date(2027, 1, 5), date(2027, 1, 8), kind="change")
    assert states([change, q1_done, q2, late], date(2027, 1, 11))["O1"] is ReadyState.OVERDUE


def test_cancelled_occurrences_do_not_count() -> None:
    gone = occ("O35", "2570", date(2026, 10, 1), date(2026, 12, 30), "cancelled")
    assert states([gone], date(2027, 1, 4))["O35"] is ReadyState.MISSING


def test_the_next_oit_window() -> None:
    march = DueDate(month=3, day=1)
    assert next_oit_window(date(2026, 12, 8), march) == date(2027, 3, 1)
    assert next_oit_window(date(2027, 3, 1), march) == date(2027, 3, 1)  # today: 0 days
    assert next_oit_window(date(2027, 3, 2), march) == date(2028, 3, 1)
    # a 29 February window in a common year is the 28th
    assert next_oit_window(date(2027, 1, 1), DueDate(month=2, day=29)) == date(2027, 2, 28)
    assert next_oit_window(date(2028, 1, 1), DueDate(month=2, day=29)) == date(2028, 2, 29)
