"""Choosing a set of frames of one instant from each camera's capture times (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping


def closest_set(candidates: Mapping[str, list[float]]) -> tuple[float, dict[str, float]] | None:
    """The smallest spread of one capture time per camera, and those times (None: a camera has none)."""
    if any(not stamps for stamps in candidates.values()):
        return None
    best: tuple[float, dict[str, float]] | None = None
    for anchor in sorted({stamp for stamps in candidates.values() for stamp in stamps}):
        chosen = {}
        for name, stamps in candidates.items():
            after = [stamp for stamp in stamps if stamp >= anchor]
            if not after:
                return best  # a later anchor leaves this camera nothing either
            chosen[name] = min(after)
        spread = max(chosen.values()) - anchor
        if best is None or spread < best[0]:
            best = (spread, chosen)
    return best


def newest_set(candidates: Mapping[str, list[float]], tolerance: float) -> dict[str, int] | None:
    """Indexes into each camera's capture times of the newest set within `tolerance` (None: there is none).

    The newest set is the one whose oldest capture time is the latest; each camera gives its newest frame
    inside the window [oldest, oldest + tolerance].
    """
    if any(not stamps for stamps in candidates.values()):
        return None
    anchors = sorted({stamp for stamps in candidates.values() for stamp in stamps}, reverse=True)
    for anchor in anchors:
        chosen = {}
        for name, stamps in candidates.items():
            inside = [index for index, stamp in enumerate(stamps) if anchor <= stamp <= anchor + tolerance]
            if not inside:
                break
            chosen[name] = max(inside, key=lambda index: stamps[index])
        else:
            return chosen
    return None
