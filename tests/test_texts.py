"""The texts are kept by topic (bot/texts/*.py) and joined into one Thai and one English
table: no key may be defined in two topics (the later would silently win), and English
only translates keys that Thai has."""

from __future__ import annotations

from collections import Counter

import bot.texts as texts
from bot.texts import EN, TH, stage_name, tr


def test_every_key_lives_in_one_topic() -> None:
    for lang, table in (("th", TH), ("en", EN)):
        counts = Counter(k for topic in texts._TOPICS for k in getattr(topic, lang.upper()))
        assert [k for k, n in counts.items() if n > 1] == [], lang
        assert len(table) == sum(counts.values())


def test_english_translates_only_thai_keys_and_falls_back() -> None:
    assert set(EN) <= set(TH)
    untranslated = sorted(set(TH) - set(EN))
    assert untranslated, "the Thai-only button labels fall back"
    key = untranslated[0]
    assert tr("en", key, code="O1") == tr("th", key, code="O1")


def test_the_joined_tables_answer_as_before() -> None:
    assert stage_name("th", "publish") == "เผยแพร่"
    assert tr("th", "rem.more", n=3) == "…และอีก 3 รายการ ดูทั้งหมดด้วย /tasks"
    assert tr("xx", "stage.done") == TH["stage.done"]  # an unknown language reads Thai
