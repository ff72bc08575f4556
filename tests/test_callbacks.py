"""The button codec: what encode writes decode reads back, in Telegram's 64 bytes; anything
else — forged, truncated, too long, another version's — is the one error, BadCallback."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.constants import InlineKeyboardButtonLimit

from bot.domain import Stage
from bot.domain.callbacks import (
    MAX_BYTES,
    VERSION,
    Assign,
    BadCallback,
    Callback,
    Deactivate,
    Invite,
    Language,
    LinkAct,
    LinkCall,
    LinkGroup,
    MyList,
    ReportChange,
    StageAct,
    StageCall,
    Step,
    decode,
    encode,
    pattern,
)

ids = st.integers(0, 10**18 - 1)
roles = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
values: st.SearchStrategy[Callback] = st.one_of(
    st.builds(StageCall, st.sampled_from(StageAct), ids, st.sampled_from(Stage)),
    st.builds(LinkCall, st.sampled_from(LinkAct), ids),
    st.just(MyList()),
    st.builds(Language, st.sampled_from(["th", "en"])),
    st.builds(ReportChange, st.from_regex(r"O[0-9]{1,2}", fullmatch=True)),
    st.builds(Invite, st.sampled_from(Step), roles | st.just("_admin"), st.none() | ids),
    st.builds(Assign, st.sampled_from(Step), roles, st.none() | ids),
    st.builds(Deactivate, ids),
    st.builds(LinkGroup, roles),
)


def test_the_limit_is_telegrams() -> None:
    assert MAX_BYTES == InlineKeyboardButtonLimit.MAX_CALLBACK_DATA


@given(values)
def test_round_trip_within_64_bytes(value: Callback) -> None:
    data = encode(value)
    assert len(data.encode("utf-8")) <= MAX_BYTES
    assert data.startswith(f"{VERSION}:")
    assert decode(data) == value


@given(values)
def test_each_value_is_routed_to_its_own_handler_only(value: Callback) -> None:
    data = encode(value)
    kinds = [
        StageCall,
        LinkCall,
        MyList,
        Language,
        ReportChange,
        Invite,
        Assign,
        Deactivate,
        LinkGroup,
    ]
    routed = [k for k in kinds if pattern(k).match(data)]
    assert routed == [type(value)]


def test_buttons_sent_before_the_version_still_work() -> None:
    assert decode("d:42:prepare") == StageCall(StageAct.DONE, 42, Stage.PREPARE)
    assert decode("cc:7:confirm") == StageCall(StageAct.CURRENT, 7, Stage.CONFIRM)
    assert decode("inv:p:legal_officer:0") == Invite(Step.PERSON, "legal_officer", 0)
    assert decode("l:mine") == MyList()
    assert decode("lr:42") == LinkCall(LinkAct.RETRY, 42)  # issue 14's publish-time buttons
    assert decode("lk:42") == LinkCall(LinkAct.KEEP, 42)
    assert pattern(StageCall).match("d:42:prepare")


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "2:d:42:prepare",  # a version this one does not write
        "0:d:42:prepare",
        "d:42:done",  # not a stage anyone acts on
        "d:abc:prepare",
        "d:42:prepare:extra",
        "d:-1:prepare",
        "d:1234567890123456789:prepare",  # past the id's width
        "x:1:prepare",
        "lang:fr",
        "ch:O999",
        "ch:DROP TABLE",
        "as:r:_admin",  # the admin pseudo-role is only invited, never assigned
        "inv:x:legal_officer",
        "da:",
        "lg:Head",
        "l:yours",
        "lr:",
        "lk:42:prepare",
        "lr:abc",
        "d:๑:prepare",  # Thai digits are typed by people, never written by the bot
        "1:" + "d:1:prepare" + " " * 60,  # over 64 bytes
    ],
)
def test_forged_or_stale_data_is_one_error(data: str | None) -> None:
    with pytest.raises(BadCallback):
        decode(data)


@given(st.text(max_size=80) | st.binary(max_size=80).map(lambda b: b.decode("latin-1")))
def test_anything_decodes_to_a_value_or_bad_callback(data: str) -> None:
    try:
        value = decode(data)
    except BadCallback:
        return
    assert decode(encode(value)) == value


def test_a_value_that_cannot_fit_is_refused_when_written() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        encode(Invite(Step.PERSON, "r" * 60, 1))
