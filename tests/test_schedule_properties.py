"""Property tests of the calendar maths (hypothesis)."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.catalogue.schema import Rule
from bot.domain import DueDate, FrequencyKind, Kind, Stage
from bot.domain.fiscal import fy_end, fy_start
from bot.holiday_table import load_holiday_table
from bot.schedule.policy import SchedulePolicy
from bot.schedule.reminders import next_slot, reminder_slots
from bot.schedule.rules import plan_change, plan_fiscal_year, plan_item
from bot.schedule.workdays import WorkCalendar
from tests.support.catalogues import item, tiny_catalogue

CAL = WorkCalendar.government(range(2020, 2036), load_holiday_table())
BKK = ZoneInfo("Asia/Bangkok")

fiscal_years = st.integers(min_value=2565, max_value=2577)
kinds = st.sampled_from(list(FrequencyKind))
due_dates = st.builds(
    DueDate, month=st.integers(1, 12), day=st.integers(1, 31), fy_offset=st.integers(0, 1)
)
rules = st.one_of(
    st.none(),
    st.builds(
        Rule,
        monthly_due_day=st.one_of(st.none(), st.integers(1, 31)),
        monthly_months_after=st.one_of(st.none(), st.integers(0, 3)),
        yearly_due=st.one_of(st.none(), due_dates),
        prepare_offset=st.one_of(st.none(), st.integers(0, 20)),
        collect_offset=st.one_of(st.none(), st.integers(0, 20)),
        publish_offset=st.one_of(st.none(), st.integers(0, 5)),
    ),
)


@settings(max_examples=300, deadline=None)
@given(fy=fiscal_years, kind=kinds, rule=rules)
def test_every_deadline_is_a_working_day_and_stages_are_ordered(
    fy: int, kind: FrequencyKind, rule: Rule | None
) -> None:
    for occ in plan_item(item("O9", kind, rule), fy, CAL, SchedulePolicy()):
        assert CAL.is_working_day(occ.due)
        assert occ.due <= occ.nominal_due
        dues = [s.due for s in occ.stages]
        assert all(CAL.is_working_day(d) for d in dues)
        assert dues == sorted(dues)  # prepare ≤ collect ≤ publish
        assert dues[-1] <= occ.due
        if rule is None or not rule.publish_offset:
            assert dues[-1] == occ.due  # publish is due on the due date by default
        assert occ.fiscal_year == fy


@settings(max_examples=200, deadline=None)
@given(fy=fiscal_years, kind=kinds)
def test_periodic_occurrences_tile_the_fiscal_year(fy: int, kind: FrequencyKind) -> None:
    occs = plan_item(item("O9", kind), fy, CAL, SchedulePolicy())
    periods = sorted(o.period for o in occs)
    assert periods[0].start == fy_start(fy)
    assert periods[-1].end == fy_end(fy)
    for a, b in pairwise(periods):
        assert a.end + timedelta(days=1) == b.start  # no gap, no overlap
    assert len({p.key for p in periods}) == len(periods)


@settings(max_examples=50, deadline=None)
@given(fy=fiscal_years, prep=st.integers(0, 15), coll=st.integers(0, 15))
def test_derivation_is_deterministic(fy: int, prep: int, coll: int) -> None:
    policy = SchedulePolicy(prepare_offset=prep, collect_offset=coll)
    a = plan_fiscal_year(tiny_catalogue(), fy, CAL, policy)
    b = plan_fiscal_year(tiny_catalogue(), fy, WorkCalendar(CAL.holidays), policy)
    assert a == b


@settings(max_examples=200, deadline=None)
@given(
    reported=st.dates(min_value=date(2024, 1, 1), max_value=date(2034, 12, 31)),
    n=st.integers(1, 15),
)
def test_change_occurrences_are_ordered_and_never_due_before_tomorrow(
    reported: date, n: int
) -> None:
    occ = plan_change(
        item("O1", FrequencyKind.ON_CHANGE),
        reported,
        CAL,
        SchedulePolicy(change_due_working_days=n),
    )
    assert occ.kind is Kind.CHANGE
    dues = [s.due for s in occ.stages]
    assert dues == sorted(dues)
    assert all(CAL.is_working_day(d) and d > reported for d in dues)
    assert CAL.between(reported, occ.due) == n


@settings(max_examples=200, deadline=None)
@given(
    deadline=st.dates(min_value=date(2025, 1, 1), max_value=date(2033, 12, 31)),
    offset_minutes=st.integers(0, 60 * 24 * 40),
)
def test_reminder_slots_are_working_day_mornings_and_consistent(
    deadline: date, offset_minutes: int
) -> None:
    policy = SchedulePolicy()
    deadline = CAL.on_or_before(deadline)
    slots = reminder_slots(deadline, CAL, policy, BKK, until=deadline + timedelta(days=30))
    assert all(CAL.is_working_day(s.day) for s in slots)
    assert all(s.at.astimezone(BKK).hour == 9 and s.at.astimezone(BKK).minute == 0 for s in slots)
    assert [s.at for s in slots] == sorted({s.at for s in slots})
    # next_slot agrees with the enumeration: the first slot after now, none skipped
    now = datetime.combine(
        deadline - timedelta(days=10), datetime.min.time(), tzinfo=UTC
    ) + timedelta(minutes=offset_minutes)
    nxt = next_slot(deadline, now, CAL, policy, BKK)
    assert nxt.at > now
    horizon = [s for s in slots if s.at <= nxt.at]
    if horizon and nxt.day <= deadline + timedelta(days=30):
        assert horizon[-1] == nxt
        assert not [s for s in slots if now < s.at < nxt.at]


def test_stage_deadline_of_every_stage_exists_for_chained_kinds() -> None:
    for occ in plan_fiscal_year(tiny_catalogue(), 2570, CAL, SchedulePolicy()):
        stages = [s.stage for s in occ.stages]
        if occ.kind is Kind.PERIODIC:
            assert stages == [Stage.PREPARE, Stage.COLLECT, Stage.PUBLISH]
        elif occ.kind is Kind.CONFIRM:
            assert stages == [Stage.CONFIRM]
        else:
            assert stages == [Stage.PREPARE]
