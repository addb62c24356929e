"""The package's layers: no module imports from a layer above its own.

Layers, low to high, as the data flows (camera -> pipeline -> consumers / ROS -> launch):

    0  codecs, toolkit_interop   no import from this package
    1  cameras                   the camera interface and the cameras a publisher hosts
    2  pipeline                  shared memory: schemas, publisher, receivers (hosts cameras)
    3  consumers                 processes that read a pipeline (Rerun, video)
    4  ros                       nodes, bridge, launch-facing parameters
    5  launch_support            what the launch files import

Every module is parsed with `ast`; imports inside functions (lazy ones), under `TYPE_CHECKING` and through
`importlib.import_module("...")` count too. The package's own `__init__.py` is the public facade and may import
any layer; nothing inside the package may import the facade.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "airo_mp_camera"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE
FACADE = "(facade)"

LAYERS: dict[str, int] = {
    "codecs": 0,
    "toolkit_interop": 0,
    "cameras": 1,
    "pipeline": 2,
    "consumers": 3,
    "ros": 4,
    "launch_support": 5,
}


def module_name(path: Path) -> str:
    """Dotted name of a module file of the package (`pkg.sub.mod`, `pkg.sub` for an `__init__.py`)."""
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """The layer a dotted module name of the package belongs to: its first component below the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else FACADE


def imported_modules(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in a module's source, wherever it sits in the module.

    Args:
        source: the module's text.
        package: the package the module is in (what its relative imports start from).
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:  # `from airo_mp_camera import cameras` names a layer in the alias
                yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def package_modules() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.py") if "__pycache__" not in path.parts)


def test_every_module_of_the_package_is_in_a_layer() -> None:
    unplaced = {layer_of(module_name(path)) for path in package_modules() if layer_of(module_name(path)) not in LAYERS}
    assert unplaced <= {FACADE}, f"place these in LAYERS of test/unit/test_layers.py: {sorted(unplaced - {FACADE})}"


@pytest.mark.parametrize("path", package_modules(), ids=lambda path: str(path.relative_to(ROOT.parent)))
def test_no_module_imports_from_a_layer_above_its_own(path: Path) -> None:
    source = layer_of(module_name(path))
    if source == FACADE:
        return
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    upward = []
    for line, imported in imported_modules(path.read_text(), package):
        if imported != PACKAGE and not imported.startswith(PACKAGE + "."):
            continue
        target = layer_of(imported)
        if target not in LAYERS:
            upward.append(f"line {line}: {imported} (the package facade)")
        elif LAYERS[target] > LAYERS[source]:
            upward.append(f"line {line}: {imported} ({target}, layer {LAYERS[target]} > {source}, {LAYERS[source]})")
    assert not upward, f"{path.relative_to(ROOT.parent)} imports upwards:\n  " + "\n  ".join(upward)


def test_the_check_sees_lazy_relative_and_importlib_imports() -> None:
    source = (
        "def late():\n"
        "    from airo_mp_camera.ros import bridge\n"
        "    from ..pipeline import receiver\n"
        "    import importlib\n"
        "    importlib.import_module('airo_mp_camera.consumers.rerun_logger')\n"
    )
    found = {name for _, name in imported_modules(source, "airo_mp_camera.cameras")}
    assert {"airo_mp_camera.ros", "airo_mp_camera.pipeline", "airo_mp_camera.consumers.rerun_logger"} <= found


# What the pipeline may use of the cameras layer: the camera interface, not a camera.
CAMERA_INTERFACE = {"interface", "in_place", "depth_image", "errors"}


@pytest.mark.parametrize(
    "path", sorted((ROOT / "pipeline").rglob("*.py")), ids=lambda path: str(path.relative_to(ROOT.parent))
)
def test_the_pipeline_uses_the_camera_interface_not_a_camera(path: Path) -> None:
    cameras = f"{PACKAGE}.cameras"
    used = {
        imported.split(".")[2]
        for _, imported in imported_modules(path.read_text(), f"{PACKAGE}.pipeline")
        if imported.startswith(cameras + ".")
    }
    assert used <= CAMERA_INTERFACE, f"{path.name} imports camera modules {sorted(used - CAMERA_INTERFACE)}"
