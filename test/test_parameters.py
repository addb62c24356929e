"""The parameter declaration: one table from which the node, the launch files, the config files and the
parameter reference all take their parameters."""

from __future__ import annotations

from airo_mp_camera.ros.parameter_reference import GROUPS, all_specs, reference_markdown


def test_the_reference_names_every_declared_parameter_once() -> None:
    text = reference_markdown()
    for spec in all_specs():
        assert text.count(f"| `{spec.name}` |") == 1, spec.name


def test_the_reference_has_one_section_per_group() -> None:
    text = reference_markdown()
    assert [line[3:] for line in text.splitlines() if line.startswith("## ")] == [
        group.capitalize() for group, _ in GROUPS
    ]
