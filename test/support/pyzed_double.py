"""The `pyzed.sl` test double (test/support/fakes/pyzed) as a fixture: one emulated SDK release per parameter.

The ZED SDK and its hardware cannot exist here; the double emulates SDK 4.2.2 or 5.4 (`PYZED_FAKE_SDK_VERSION`),
with one ZED 2i (serial 30001), importable in the test process and in the processes it spawns.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

FAKES = Path(__file__).parent / "fakes"
SDK_VERSIONS = ("4.2.2", "5.4")  # the releases the double emulates


def forget_pyzed() -> None:
    """Drops every imported pyzed module, so the next import finds whichever pyzed the path now gives."""
    for name in [name for name in sys.modules if name == "pyzed" or name.startswith("pyzed.")]:
        del sys.modules[name]


@pytest.fixture(params=SDK_VERSIONS, ids=[f"sdk{version}" for version in SDK_VERSIONS])
def sl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The fake `pyzed.sl` of one SDK release with one ZED 2i (serial 30001), here and in spawned children."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(FAKES), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYZED_FAKE_DEVICES", "ZED2i:30001")
    monkeypatch.setenv("PYZED_FAKE_SDK_VERSION", request.param)
    forget_pyzed()
    import pyzed.sl as fake_sl

    assert Path(fake_sl.__file__).is_relative_to(FAKES), "the test double must be the pyzed found"
    assert fake_sl.Camera.get_sdk_version().startswith(request.param)
    fake_sl.WORLD.reset("ZED2i:30001")
    yield fake_sl
    forget_pyzed()
