"""MkDocs hooks of this site: the benchmark figures from `benchmarks/`, and the generated parameter reference.

- The figures the benchmarks draw stay where the benchmarks write them (`benchmarks/*.png`); `on_files` adds
  them to the site under the same path, `benchmarks/<name>.png`, so a page links them as
  `benchmarks/<name>.png` and the site never holds a stale copy. `test/integration/test_readme.py` resolves links with
  `figures()` the same way.
- `docs/parameters.md` holds the line `<!-- parameter-reference -->`; `on_page_markdown` replaces it with
  `airo_mp_camera.ros.parameter_reference.reference_markdown()`, the tables generated from the one declaration
  of every parameter (without its title line when the page has one).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.structure.files import Files

ROOT = Path(__file__).resolve().parent.parent
FIGURE_DIR = "benchmarks"
PARAMETER_MARKER = "<!-- parameter-reference -->"


def figures(root: Path = ROOT) -> dict[str, Path]:
    """Each benchmark figure the site serves: its path in the site -> the repository file."""
    return {f"{FIGURE_DIR}/{path.name}": path for path in sorted((root / FIGURE_DIR).glob("*.png"))}


def parameter_reference() -> str:
    """The parameter tables, generated from the parameters' declaration."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from airo_mp_camera.ros.parameter_reference import reference_markdown

    return reference_markdown()


def on_files(files: Files, config: Any) -> Files:
    """Add the benchmark figures to the site, read from `benchmarks/` itself."""
    from mkdocs.structure.files import File  # imported here so that `figures()` works without MkDocs (tests)

    for site_path in figures():
        files.append(File(site_path, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Replace the parameter-reference marker line with the generated tables."""
    if PARAMETER_MARKER not in markdown:
        return markdown
    reference = parameter_reference()
    page_has_title = any(line.startswith("# ") for line in markdown.split(PARAMETER_MARKER, 1)[0].splitlines())
    if page_has_title and reference.startswith("# "):  # the page's own title stands; the reference's would repeat it
        reference = reference.split("\n", 1)[1].lstrip("\n")
    return markdown.replace(PARAMETER_MARKER, reference)
