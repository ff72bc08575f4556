"""fit() measures as Telegram does (UTF-16 code units) and cuts cleanly; split_lines splits."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Stage, TaskLine
from bot.domain.callbacks import StageAct, StageCall, encode
from bot.fmt import Fmt
from bot.services.tasklist import MAX_BUTTON_ITEMS, render_reminders
from bot.textfit import ELLIPSIS, TEXT_LIMIT, fit, split_lines, utf16_len


def test_emoji_count_two_units_and_thai_one_per_code_point() -> None:
    assert utf16_len("😀") == 2 and utf16_len("ก่") == 2 and utf16_len("abc") == 3
    assert TEXT_LIMIT == 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH
    emoji = "😀" * 3000  # 3,000 code points: under 4,096, but 6,000 units
    cut = fit(emoji)
    assert utf16_len(cut) <= 4096 and cut.endswith(ELLIPSIS) and cut.count("😀") == 2047
    assert fit("สวัสดี") == "สวัสดี"


def test_a_cut_never_separates_a_thai_letter_from_its_marks_or_an_emoji_from_its_joiner() -> None:
    # "น้ำ": NO NU + MAI THO + SARA AM; a cut between them would leave a bare mark
    assert fit("กา" + "น้ำ", 4) == "กา" + ELLIPSIS
    family = "👨\u200d👩\u200d👧"
    assert not fit("ab" + family, 5).rstrip(ELLIPSIS).endswith("\u200d")


@given(st.text(min_size=0, max_size=300), st.integers(min_value=2, max_value=200))
def test_fit_always_fits_and_keeps_a_prefix(text: str, limit: int) -> None:
    out = fit(text, limit)
    assert utf16_len(out) <= limit
    assert out == text or (out.endswith(ELLIPSIS) and text.startswith(out[:-1].rstrip()))


def test_split_lines_keeps_every_line_and_each_message_fits() -> None:
    lines = [f"• O{i} " + "😀ข้อมูล" * 40 for i in range(60)]
    parts = split_lines(lines, head="หัวเรื่อง", tail="ท้าย")
    assert len(parts) > 1 and all(utf16_len(p) <= TEXT_LIMIT for p in parts)
    assert parts[0].startswith("หัวเรื่อง") and parts[-1].endswith("ท้าย")
    assert "\n".join(parts).count("• O") == 60 and ELLIPSIS not in "".join(parts)


def test_a_reminder_of_41_items_becomes_several_messages_each_with_its_buttons() -> None:
    fmt = Fmt()
    lines = [
        TaskLine(i, f"O{i}", "รายงาน" + "😀" * 60, "prepare", date(2027, 1, 10), "periodic", "2570")
        for i in range(1, 42)
    ]
    parts = render_reminders(fmt, lines, date(2027, 1, 5))
    assert len(parts) == 6  # 8 items a message
    assert sorted(i for p in parts for i in p.items) == list(range(1, 42))
    for p in parts:
        assert utf16_len(p.text) <= TEXT_LIMIT and ELLIPSIS not in p.text
        assert len(p.items) <= MAX_BUTTON_ITEMS
        pressed = {b["callback_data"] for row in p.markup["inline_keyboard"] for b in row}
        done = {encode(StageCall(StageAct.DONE, i, Stage.PREPARE)) for i in p.items}
        assert done <= pressed
        assert "ข้อความที่" in p.text and "ตอบข้อความนี้" in p.text
