"""`bridge_node`: bridges a shared-memory namespace whose publisher runs elsewhere (e.g. a controller script)."""

from airo_mp_camera.ros.node import main_bridge_node as main

__all__ = ["main"]

if __name__ == "__main__":
    main()
