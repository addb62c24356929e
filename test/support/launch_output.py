"""Reading what `ros2 launch` printed after a terminal's Ctrl-C (SIGINT to its whole process group)."""

from __future__ import annotations

CTRL_C_LINE = "[WARNING] [launch]: user interrupted with ctrl-c (SIGINT)"
REQUIRED_EXIT = "was required: shutting down launched system"


def launch_stopped_on_ctrl_c(after: str) -> bool:
    """Whether launch shut its system down on the Ctrl-C, as `after` (its output from the Ctrl-C on) tells.

    Launch's SIGINT handler runs on its event loop; the nodes got the same SIGINT from the terminal, and on a busy
    machine a node that exits quickly reaches that loop first. Launch then shuts down on the required node's exit
    (`REQUIRED_EXIT`) instead of printing `CTRL_C_LINE`: the same clean stop, told another way. The callers check
    separately that every process finished cleanly and the exit code was 0.
    """
    return CTRL_C_LINE in after.splitlines() or REQUIRED_EXIT in after
