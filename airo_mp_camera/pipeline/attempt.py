"""Why one attempt of a receiver at taking the newest frame (a copy or a borrow) took none."""

from __future__ import annotations

import enum


class Miss(enum.Enum):
    """An attempt's outcome when it took no frame."""

    NOTHING_NEW = "nothing new"  # no complete frame newer than the last one taken (that carries what is read)
    NO_ROOM = "no room"  # a newer frame, but borrowing it would leave the publisher too few slots
