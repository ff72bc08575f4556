"""Every text a person sees, in Thai (the default) and English, in one place.

Use :func:`tr` with a message key and keyword arguments.  Dates are formatted by
:func:`bot.schedule.thai.format_date` (BE years, Thai or Arabic digits by setting).
Keys missing from English fall back to Thai, so Thai is always complete.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["th", "en"]
LANGS: tuple[Lang, ...] = ("th", "en")

TH: dict[str, str] = {
    # stages and kinds
    "stage.prepare": "จัดทำ",
    "stage.collect": "รวบรวม/ตรวจทาน",
    "stage.publish": "เผยแพร่",
    "stage.confirm": "ยืนยันความเป็นปัจจุบัน",
    "stage.done": "เสร็จสิ้น",
    "kind.periodic": "ตามรอบ",
    "kind.confirm": "ยืนยันรายไตรมาส",
    "kind.change": "มีการเปลี่ยนแปลง",
    "kind.activity": "กิจกรรมตามมาตรการ",
    # calendar CLI
    "cal.title": "ปฏิทินหน้าที่เผยแพร่ข้อมูล ปีงบประมาณ {fy}",
    "cal.head.item": "รายการ",
    "cal.head.period": "รอบ",
    "cal.head.stage": "ขั้นตอน",
    "cal.head.role": "ผู้รับผิดชอบ",
    "cal.head.due": "กำหนด",
    "cal.head.title": "ประเภทข้อมูล/กิจกรรม",
    "cal.count": "รวม {occurrences} รอบ {stages} ขั้นตอน",
    "cal.ics.name": "หน้าที่ ITA: {role}",
    "cal.ics.summary": "{code} {stage}: {title}",
    # reminders
    "rem.header": "🔔 งานเผยแพร่ข้อมูล ITA ที่ถึงรอบเตือน ({date})",
    "rem.line": "• {code} {title}\n    {stage} · กำหนด {due} · {when}",
    "rem.footer": "กดปุ่มด้านล่าง หรือตอบข้อความนี้ว่า “เสร็จ {example}”",
    "rem.legend": "✅ เสร็จ/อนุมัติ · ↩️ ส่งกลับแก้ไข · 🔗 เผยแพร่แล้ว · ➖ ไม่มีในรอบนี้ · 💤 เตือนอีกครั้งวันทำการถัดไป",
    "rem.more": "…และอีก {n} รายการ ดูทั้งหมดด้วย /tasks",
    "rem.group_header": "🔔 งานของ{role}ที่ถึงรอบเตือน ({date})",
    "when.left": "อีก {n} วัน",
    "when.tomorrow": "พรุ่งนี้",
    "when.today": "ครบกำหนดวันนี้",
    "when.overdue": "เลยกำหนด {n} วัน",
    "btn.done": "✅ {code}",
    "btn.back": "↩️ {code}",
    "btn.publish": "🔗 {code}",
    "btn.na": "➖ {code}",
    "btn.snooze": "💤 {code}",
    "btn.current": "✅ {code} ยังเป็นปัจจุบัน",
    "btn.updated": "✏️ {code} ปรับปรุงแล้ว",
    "btn.mylist": "📋 งานของฉัน",
    "esc.header": "⚠️ งานที่เลยกำหนดเกิน {n} วันทำการ ({date})",
    "esc.line": "• {code} {title}\n    {stage} · {role} ({holders}) · เลยกำหนด {overdue} วัน",
    "esc.nobody": "ไม่มีผู้รับผิดชอบ",
    "unreach.header": "⚠️ ติดต่อผู้รับผิดชอบไม่ได้ ({date})",
    "unreach.role": "• {role}: ไม่มีผู้ที่ติดต่อได้ทาง Telegram ({reason}) — มีงานค้าง {n} รายการ",
    "unreach.reason.none": "ยังไม่มีผู้ได้รับมอบหมาย",
    "unreach.reason.inactive": "ผู้ได้รับมอบหมายบล็อกบอทหรือถูกปิดการใช้งาน",
    "unreach.hint": "ผู้ดูแลระบบสามารถมอบหมายบทบาทใหม่ได้ด้วย /invite",
    "blocked.group": "⚠️ ส่งข้อความถึงกลุ่มของ{role}ไม่ได้: {reason}\nยกเลิกการเชื่อมกลุ่มนี้แล้ว",
    "blocked.role_empty": "บทบาทที่ไม่มีผู้ที่ติดต่อได้แล้ว: {roles}",
    "blocked.person": "⚠️ ส่งข้อความถึง {name} ({roles}) ไม่ได้: {reason}\nระบบหยุดส่งข้อความถึงบุคคลนี้แล้ว",
}

EN: dict[str, str] = {
    "stage.prepare": "prepare",
    "stage.collect": "collect/review",
    "stage.publish": "publish",
    "stage.confirm": "confirm still current",
    "stage.done": "done",
    "kind.periodic": "periodic",
    "kind.confirm": "quarterly confirmation",
    "kind.change": "reported change",
    "kind.activity": "measure activity",
    "cal.title": "Disclosure duty calendar, fiscal year {fy}",
    "cal.head.item": "item",
    "cal.head.period": "period",
    "cal.head.stage": "stage",
    "cal.head.role": "role",
    "cal.head.due": "due",
    "cal.head.title": "title",
    "cal.count": "{occurrences} occurrences, {stages} stages",
    "cal.ics.name": "ITA duties: {role}",
    "cal.ics.summary": "{code} {stage}: {title}",
    "rem.header": "🔔 ITA disclosure tasks due for a reminder ({date})",
    "rem.line": "• {code} {title}\n    {stage} · due {due} · {when}",
    "rem.footer": "Use the buttons, or reply to this message with “done {example}”",
    "rem.legend": "✅ done/approve · ↩️ send back · 🔗 published · ➖ not applicable · 💤 remind me next working day",
    "rem.more": "…and {n} more; see them all with /tasks",
    "rem.group_header": "🔔 Tasks of {role} due for a reminder ({date})",
    "when.left": "{n} days left",
    "when.tomorrow": "tomorrow",
    "when.today": "due today",
    "when.overdue": "{n} days overdue",
    "btn.current": "✅ {code} still current",
    "btn.updated": "✏️ {code} updated",
    "btn.mylist": "📋 My tasks",
    "esc.header": "⚠️ Tasks more than {n} working days overdue ({date})",
    "esc.line": "• {code} {title}\n    {stage} · {role} ({holders}) · {overdue} days overdue",
    "esc.nobody": "nobody",
    "unreach.header": "⚠️ Roles nobody can be reached for ({date})",
    "unreach.role": "• {role}: nobody reachable on Telegram ({reason}); {n} open tasks",
    "unreach.reason.none": "nobody holds it",
    "unreach.reason.inactive": "the holders blocked the bot or were deactivated",
    "unreach.hint": "An admin can hand the role to someone with /invite",
    "blocked.group": "⚠️ Cannot deliver to the group of {role}: {reason}\nThe group has been unlinked.",
    "blocked.role_empty": "Roles with nobody reachable now: {roles}",
    "blocked.person": "⚠️ Cannot deliver to {name} ({roles}): {reason}\nThe bot has stopped messaging them.",
}

_TABLES: dict[str, dict[str, str]] = {"th": TH, "en": EN}


def tr(lang: str, key: str, /, **kwargs: object) -> str:
    """The text ``key`` in ``lang`` (falling back to Thai), formatted with ``kwargs``."""
    table = _TABLES.get(lang, TH)
    template = table.get(key) or TH[key]
    return template.format(**kwargs) if kwargs else template


def stage_name(lang: str, stage: str) -> str:
    return tr(lang, f"stage.{stage}")
