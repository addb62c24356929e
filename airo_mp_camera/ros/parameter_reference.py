"""The parameter reference: markdown tables of every parameter, generated from their declaration.

The documentation's parameter page is `reference_markdown()`, so the page cannot disagree with what the nodes
declare: name, type, default, what is allowed and the description all come from the `ParameterSpec` entries in
`airo_mp_camera.ros.parameters`.
"""

from __future__ import annotations

from collections.abc import Iterable

from airo_mp_camera.ros.parameters import (
    ALL_SPECS,
    CAMERA_SPECS,
    CONSUMER_SPECS,
    REMOTE_SPECS,
    STREAMS,
    ParameterSpec,
)

GROUPS: tuple[tuple[str, str], ...] = (
    ("camera", "The hosted camera (camera_node only): its type and the keyword arguments of its class."),
    ("streams", "What each bridged stream publishes, how often, and with which QoS."),
    ("bridge", "The local bridge: names, compressed topics, timeouts."),
    ("remote", "The remote-facing bridge: what other machines receive, and how it fits the link."),
    ("consumers", "Processes the node starts on its namespace: the Rerun logger, the web viewer, recording."),
)
"""The reference's sections, in order, with the sentence that opens each."""

_TYPE_NAMES = {bool: "bool", int: "integer", float: "double", str: "string"}


def group_of(spec: ParameterSpec) -> str:
    """The reference section a parameter belongs in (one of `GROUPS`)."""
    if spec in CAMERA_SPECS:
        return "camera"
    if spec in REMOTE_SPECS:
        return "remote"
    if spec in CONSUMER_SPECS:
        return "consumers"
    return "streams" if spec.name.split(".", 1)[0] in STREAMS else "bridge"


def all_specs() -> tuple[ParameterSpec, ...]:
    """Every parameter a node of this package may declare, each once."""
    return ALL_SPECS


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(spec: ParameterSpec) -> str:
    if isinstance(spec.default, bool):
        return f"`{str(spec.default).lower()}`"
    if isinstance(spec.default, str):
        return f'`"{spec.default}"`'
    return f"`{spec.default!r}`"


def _deprecated(spec: ParameterSpec) -> str:
    if not spec.aliases:
        return ""
    return f" Deprecated name{'s' if len(spec.aliases) > 1 else ''}: {', '.join(spec.aliases)}."


def _table(specs: Iterable[ParameterSpec]) -> list[str]:
    lines = ["| Name | Type | Default | Allowed | Description |", "| --- | --- | --- | --- | --- |"]
    for spec in specs:
        lines.append(
            f"| `{spec.name}` | {_TYPE_NAMES[type(spec.default)]} | {_cell(_default(spec))} "
            f"| {_cell(spec.allowed)} | {_cell(spec.description + _deprecated(spec))} |"
        )
    return lines


def reference_markdown() -> str:
    """Markdown tables of every declared parameter, one section per group.

    The groups are camera, streams, bridge, remote and consumers; each row gives the name, type, default,
    what is allowed, and the description.
    """
    specs = all_specs()
    lines = [
        "# Parameters",
        "",
        "Generated from the parameter declaration (`airo_mp_camera/ros/parameters.py`). Every parameter is read "
        "once, at start (read-only); a wrong type, a value out of range or an unknown name stops the node with a "
        "message naming it. `ros2 param describe <node> <name>` prints the same description and range.",
    ]
    for group, sentence in GROUPS:
        members = [spec for spec in specs if group_of(spec) == group]
        lines += ["", f"## {group.capitalize()}", "", sentence, "", *_table(members)]
    return "\n".join(lines) + "\n"
