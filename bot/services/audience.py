"""Who hears what is meant for the head of the office."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.models import OrgRole, Person


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    person_id: int | None  # None: a role's group chat
    lang: str


def head_audience(
    heads: list[str],
    holders: dict[str, list[Person]],
    org_roles: dict[str, OrgRole],
    default_lang: str,
    *,
    besides_chat: int | None = None,
) -> list[Recipient]:
    """Every reachable holder of a head role, then each head role's linked group chat,
    each chat once (and never ``besides_chat``, the one that just failed)."""
    out: list[Recipient] = []
    seen: set[int] = {besides_chat} if besides_chat is not None else set()
    for key in heads:
        for p in holders.get(key, []):
            if p.reachable and p.chat_id is not None and p.chat_id not in seen:
                seen.add(p.chat_id)
                out.append(Recipient(p.chat_id, p.id, p.language))
    for key in heads:
        link = org_roles.get(key)
        if link is not None and link.group_chat_id and link.group_chat_id not in seen:
            seen.add(link.group_chat_id)
            out.append(Recipient(link.group_chat_id, None, default_lang))
    return out
