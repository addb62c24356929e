"""BorrowedSet: one frame of each of several cameras, all borrowed, released together (MultiCameraReceiver.borrow)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from airo_mp_camera.pipeline.borrowed_frame import BorrowedFrame


class BorrowedSet(Mapping[str, BorrowedFrame]):
    """One set's frames, borrowed (`frames["wrist"]` is a BorrowedFrame) and released together.

    Use it as a context manager or call `release()`; until then each camera's slot is one its publisher
    cannot write, so release it soon.
    """

    def __init__(self, frames: dict[str, BorrowedFrame]) -> None:
        self._frames = frames
        stamps = [frame.capture_timestamp for frame in frames.values()]
        self.spread = max(stamps) - min(stamps)
        """Seconds between the set's oldest and newest capture times."""

    def __getitem__(self, name: str) -> BorrowedFrame:
        return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def released(self) -> bool:
        """Whether the set's frames were released."""
        return all(frame.released for frame in self._frames.values())

    def release(self) -> None:
        """Releases every camera's frame; every frame's accessors raise FrameReleasedError from now on."""
        for frame in self._frames.values():
            frame.release()

    def __enter__(self) -> BorrowedSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self.released else ", ".join(f"{n}={f.frame_id}" for n, f in self._frames.items())
        return f"BorrowedSet({state})"
