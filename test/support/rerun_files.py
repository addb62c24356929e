"""Reading back what the Rerun logger wrote: an .rrd file's columns, images decoded, waiting for frames."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airo_mp_camera.consumers import (
    MultiprocessRGBRerunLogger,
)

rerun_chunk = pytest.importorskip(
    "rerun.chunk", reason="rerun-sdk is not installed (pip install rerun-sdk; it needs numpy >= 2)"
)


def read_rrd(path: Path) -> dict[str, dict[str, list[Any]]]:
    """Per entity, each column's values (pyarrow scalars) for every row of the first recording in an .rrd.

    Static rows are listed under "<entity>#static".
    """
    entities: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for chunk in rerun_chunk.RrdReader(path).stream().to_chunks():
        entity = f"{chunk.entity_path}#static" if chunk.is_static else chunk.entity_path
        batch = chunk.to_record_batch()
        for name in batch.schema.names:
            entities[entity][name].extend(batch.column(name))
    return entities


def values(column: list[Any]) -> list[Any]:
    """A column's values as Python objects (for small columns: ids, times, formats)."""
    return [scalar.as_py() for scalar in column]


def flat(scalar: Any) -> np.ndarray:
    """The numbers of one row of a (nested) list column, flattened into a numpy array."""
    array = scalar.values
    while hasattr(array, "flatten"):
        array = array.flatten()
    return array.to_numpy(zero_copy_only=False)


def image_of(buffer: Any, format_: Any, dtype: type, channels: int) -> np.ndarray:
    """An image logged as rr.Image / rr.DepthImage, from one row of its buffer and format columns."""
    width, height = format_.as_py()[0]["width"], format_.as_py()[0]["height"]
    data = flat(buffer).view(dtype)
    return data.reshape((height, width, channels) if channels > 1 else (height, width))


def wait_until_logged(logger: MultiprocessRGBRerunLogger, frames: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while logger.frames_logged < frames:
        assert time.monotonic() < deadline, f"only {logger.frames_logged} frames logged in {timeout} s"
        assert logger.is_alive(), f"logger exited with code {logger.exitcode}"
        time.sleep(0.05)
