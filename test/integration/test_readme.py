"""The README as a front door: short, its links resolve, and its runnable blocks run as written.

A fenced block of README.md preceded by the line `<!-- runnable -->` (other HTML comment lines may stand between
the marker and the fence) is one a user runs as written. Each is run here, or checked where running it inside a
test is not possible:

- **Run**: the Python quick start, as a file in a fresh directory with this test's interpreter (the synthetic
  camera, a timeout); it must exit 0.
- **Checked**: blocks of `make` lines (`make demo`, `make test`, `make lint`, `make docs`): each target exists,
  `make -n <target>` succeeds (running them would be the demo, the whole suite, the linters and the site build).
  The ROS quick start: every launch file and executable it names is one the package installs, and every topic it
  names is in the README's topics table. The workspace install (marked `<!-- test: workspace-install -->`) is run
  as written by `test/launch/test_workspace_install.py` on ROS 2 Humble; here it is checked to be marked for that test.

A runnable block that none of these covers fails `test_every_runnable_block_is_run_or_checked`.
Links of the README and of docs/ must resolve, and the files and modules they name in code spans must exist.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250
RUNNABLE = "<!-- runnable -->"
WORKSPACE_MARKER = "<!-- test: workspace-install -->"
QUICK_START_TIMEOUT_S = 120.0

_FENCE = re.compile(r"^```(\w*)$")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # https:, mailto:, ...


@dataclass(frozen=True)
class Block:
    """A fenced block of the README: its language, its lines, and the HTML comments right above it."""

    language: str
    lines: tuple[str, ...]
    markers: tuple[str, ...]

    @property
    def code(self) -> str:
        return "\n".join(self.lines) + "\n"


def readme_blocks() -> list[Block]:
    """Every fenced block of README.md, in order."""
    lines = README.read_text().splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        markers = []
        above = index - 1
        while above >= 0 and lines[above].startswith("<!--"):
            markers.append(lines[above].strip())
            above -= 1
        end = index + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        blocks.append(Block(match.group(1), tuple(lines[index + 1 : end]), tuple(reversed(markers))))
        index = end + 1
    return blocks


def runnable_blocks() -> list[Block]:
    return [block for block in readme_blocks() if RUNNABLE in block.markers]


def _commands(block: Block) -> list[str]:
    """The block's shell commands, without comments and blank lines."""
    commands = []
    for line in block.lines:
        command = line.split("#", 1)[0].strip()
        if command:
            commands.append(command)
    return commands


def _is_python(block: Block) -> bool:
    return block.language == "python"


def _is_make(block: Block) -> bool:
    commands = _commands(block)
    return block.language == "bash" and bool(commands) and all(command.startswith("make ") for command in commands)


def _is_ros(block: Block) -> bool:
    commands = _commands(block)
    return block.language == "bash" and bool(commands) and all(command.startswith("ros2 ") for command in commands)


def _is_workspace_install(block: Block) -> bool:
    return WORKSPACE_MARKER in block.markers


def _hooks() -> ModuleType:
    """docs/hooks.py, the site's MkDocs hooks (its `figures()` needs no MkDocs)."""
    spec = importlib.util.spec_from_file_location("airo_mp_camera_docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _without_code(text: str) -> str:
    """The markdown without fenced blocks and inline code, where brackets are code, not links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


def relative_links(page: Path) -> list[str]:
    """The targets of the page's links and images that point into the repository (no URL, no bare anchor)."""
    targets = []
    for target in _LINK.findall(_without_code(page.read_text())):
        if _EXTERNAL.match(target) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def test_the_readme_is_at_most_250_lines() -> None:
    count = len(README.read_text().splitlines())
    assert count <= MAX_README_LINES, f"README.md has {count} lines; the front door keeps to {MAX_README_LINES}"


def test_every_relative_link_in_the_readme_points_at_an_existing_file() -> None:
    links = relative_links(README)
    assert links, "README.md links no file at all"
    missing = [target for target in links if not (ROOT / target).exists()]
    assert not missing, f"README.md links files that do not exist: {missing}"


def test_every_relative_link_in_the_docs_points_at_an_existing_file() -> None:
    """Links of docs/**/*.md resolve from the page's folder; the benchmark figures are served from benchmarks/
    by the site's hook (docs/hooks.py), so `benchmarks/<name>.png` from a page at docs/ is that file."""
    figures = _hooks().figures(ROOT)
    pages = sorted(DOCS.rglob("*.md"))
    assert pages, "docs/ has no pages"
    missing = []
    for page in pages:
        for target in relative_links(page):
            resolved = (page.parent / target).resolve()
            site_path = resolved.relative_to(DOCS).as_posix() if resolved.is_relative_to(DOCS) else None
            if not resolved.exists() and site_path not in figures:
                missing.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not missing, f"docs link files that do not exist: {missing}"


def test_the_readme_marks_its_runnable_blocks() -> None:
    blocks = runnable_blocks()
    assert any(_is_python(block) for block in blocks), "the Python quick start is not marked runnable"
    make_targets = {command.split()[1] for block in blocks if _is_make(block) for command in _commands(block)}
    assert {"demo", "test", "lint", "docs"} <= make_targets
    assert sum(_is_workspace_install(block) for block in blocks) == 1


def test_every_runnable_block_is_run_or_checked() -> None:
    """Each runnable block is one of the kinds this module runs or checks (module docstring)."""
    unchecked = [
        block.code
        for block in runnable_blocks()
        if not (_is_python(block) or _is_make(block) or _is_ros(block) or _is_workspace_install(block))
    ]
    assert not unchecked, f"runnable README blocks no test runs or checks: {unchecked}"


def test_the_python_quick_start_runs_as_written(tmp_path: Path, processes: Any) -> None:
    """Run: each runnable Python block, saved as a script in an empty folder and run with this interpreter."""
    blocks = [block for block in runnable_blocks() if _is_python(block)]
    assert blocks
    for number, block in enumerate(blocks):
        script = tmp_path / f"readme_block_{number}.py"
        script.write_text(block.code)
        process = processes.popen(
            [sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            output, _ = process.communicate(timeout=QUICK_START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the README's Python block {number} did not finish within {QUICK_START_TIMEOUT_S} s")
        assert process.returncode == 0, f"the README's Python block {number} failed:\n{output.decode()}"


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_the_make_targets_the_readme_runs_exist() -> None:
    """Checked, not run: `make -n <target>` for every `make` line of a runnable block (the demo, the whole suite,
    the linters and the site build are too long, or are this suite itself)."""
    targets = sorted(
        {command.split()[1] for block in runnable_blocks() if _is_make(block) for command in _commands(block)}
    )
    assert targets
    for target in targets:
        result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"make -n {target} failed: {result.stderr}"


def _topics_table() -> set[str]:
    """Topic names in the first column of the README's topics table (the one headed `| topic |`)."""
    names: set[str] = set()
    in_table = False
    for line in README.read_text().splitlines():
        if line.startswith("| topic |"):
            in_table = True
        elif in_table and not line.startswith("|"):
            break
        elif in_table:
            names.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


def test_the_ros_quick_start_names_what_the_package_installs() -> None:
    """Checked, not run (`ros2 launch` and `ros2 bag` are not on PyPI; the workspace install runs a launch file on
    Humble): launch files exist in launch/, executables are console scripts of setup.py, and every topic under
    the camera's name is in the README's topics table."""
    blocks = [block for block in runnable_blocks() if _is_ros(block)]
    assert blocks
    setup = (ROOT / "setup.py").read_text()
    table = _topics_table()
    for block in blocks:
        for command in _commands(block):
            words = command.split()
            if words[1] == "launch":
                assert words[2] == "airo_mp_camera", command
                assert (ROOT / "launch" / words[3]).is_file(), f"no launch/{words[3]} for: {command}"
            elif words[1] == "run":
                assert words[2] == "airo_mp_camera", command
                assert re.search(rf"^\s*\"{re.escape(words[3])} = ", setup, re.MULTILINE), f"no executable: {command}"
            for topic in (word for word in words if word.startswith("/camera/")):
                name = topic.removeprefix("/camera/")
                assert any(name == entry or entry.startswith(name) for entry in table), f"{topic} not in the table"


def test_the_workspace_install_block_is_the_one_its_test_runs() -> None:
    """Checked here, run elsewhere: test/launch/test_workspace_install.py runs the block after the marker on Humble."""
    (block,) = [block for block in runnable_blocks() if _is_workspace_install(block)]
    assert block.language == "bash"
    assert block.lines[-1] == "ros2 launch airo_mp_camera synthetic.launch.py"
    runner = (ROOT / "test" / "launch" / "test_workspace_install.py").read_text()
    assert WORKSPACE_MARKER in runner
    assert "def test_the_readme_workspace_install_runs_as_written_on_humble" in runner


_REPOSITORY_PATH = re.compile(r"`((?:airo_mp_camera|test|benchmarks|config|launch|tools|examples|docs)/[\w./-]+)`")
_MODULE = re.compile(r"`(airo_mp_camera(?:\.[a-z_][a-z0-9_]*)+)")


def test_every_repository_path_and_module_the_docs_name_exists() -> None:
    """A file or module named in the README or the docs (`airo_mp_camera/ros/link_estimate.py`,
    `airo_mp_camera.codecs.compressed_depth`) exists, so a move that forgets the docs fails here."""
    missing = []
    for page in [README, *sorted(DOCS.rglob("*.md"))]:
        text = page.read_text()
        for path in sorted(set(_REPOSITORY_PATH.findall(text))):
            if not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)}: {path}")
        for dotted in sorted(set(_MODULE.findall(text))):
            parts = dotted.split(".")
            # The longest prefix that is a module or package; what follows it is an attribute (a class, a constant).
            found = any(
                (ROOT.joinpath(*parts[:end]).with_suffix(".py")).is_file()
                or (ROOT.joinpath(*parts[:end]) / "__init__.py").is_file()
                for end in range(2, len(parts) + 1)
            )
            if not found and not _exported(parts[1]):
                missing.append(f"{page.relative_to(ROOT)}: {dotted}")
    assert not missing, f"the docs name files or modules that do not exist: {missing}"


def _exported(name: str) -> bool:
    """Whether `airo_mp_camera/__init__.py` exports the name (`airo_mp_camera.reclaim_stale_segments`)."""
    return re.search(rf"\b{re.escape(name)}\b", (ROOT / "airo_mp_camera" / "__init__.py").read_text()) is not None
