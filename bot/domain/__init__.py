"""The domain's vocabulary, which every layer imports and which imports no other layer.

* :mod:`bot.domain.enums` — stages, kinds, statuses, frequencies, actions, link states and
  check triggers, role kinds;
* :mod:`bot.domain.values` — :class:`DueDate`, :class:`TaskLine`;
* :mod:`bot.domain.thai` — Buddhist Era years, Thai digits and month names;
* :mod:`bot.domain.fiscal` — the Thai fiscal year, its periods and their keys;
* :mod:`bot.domain.callbacks` — what a button carries, typed and versioned.
"""

from bot.domain.enums import (
    CHAIN,
    COMPLETING,
    FINISHED,
    YEARLY_KINDS,
    Action,
    FrequencyKind,
    Kind,
    LinkState,
    LinkTrigger,
    OccStatus,
    OutboxPriority,
    OutboxStatus,
    RoleKind,
    Stage,
)
from bot.domain.values import DueDate, TaskLine, code_key

__all__ = [
    "CHAIN",
    "COMPLETING",
    "FINISHED",
    "YEARLY_KINDS",
    "Action",
    "DueDate",
    "FrequencyKind",
    "Kind",
    "LinkState",
    "LinkTrigger",
    "OccStatus",
    "OutboxPriority",
    "OutboxStatus",
    "RoleKind",
    "Stage",
    "TaskLine",
    "code_key",
]
