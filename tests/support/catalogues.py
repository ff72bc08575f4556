"""Small hand-written catalogues for tests that must not depend on the shipped file."""

from __future__ import annotations

from bot.catalogue.schema import Activity, Catalogue, Frequency, Item, Measure, MonthRef, Role, Rule
from bot.domain import FrequencyKind

ROLES = (
    Role(key="preparer", name="ผู้จัดทำ", short="จัดทำ"),
    Role(key="reviewer", name="ผู้ตรวจทาน", short="ตรวจทาน"),
    Role(key="publisher", name="ผู้เผยแพร่", short="เผยแพร่"),
    Role(key="office", name="สำนักปลัด", kind="unit"),
    Role(key="head", name="ผู้บริหาร", kind="head"),
)


def item(
    code: str, kind: FrequencyKind, rule: Rule | None = None, title: str | None = None
) -> Item:
    return Item(
        code=code,
        title=title or f"รายการ {code}",
        prepare="preparer",
        collect="reviewer",
        publish="publisher",
        frequency=Frequency(kind=kind, phrase=kind.value),
        rule=rule,
    )


def tiny_catalogue(*items: Item, activities: tuple[Activity, ...] = ()) -> Catalogue:
    if not items:
        items = (
            item("O1", FrequencyKind.ON_CHANGE),
            item("O10", FrequencyKind.YEARLY),
            item("O11", FrequencyKind.SEMIANNUAL),
            item("O23", FrequencyKind.MONTHLY),
            item("O35", FrequencyKind.AT_LEAST_YEARLY),
        )
    if not activities:
        activities = (
            Activity(
                code="M1.1",
                title="กิจกรรมทดสอบ",
                steps=("ขั้นตอน",),
                responsible="office",
                due=MonthRef(month=5),
                report_quarter=2,
            ),
        )
    return Catalogue(
        edition="test",
        fiscal_year=2565,
        roles=ROLES,
        items=items,
        measures=(Measure(code="M1", title="มาตรการทดสอบ", activities=activities),),
    )
