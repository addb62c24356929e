"""`camera_node`: hosts a CameraPublisher process for the configured camera and bridges it to ROS topics."""

from airo_mp_camera.ros.node import main_camera_node as main

__all__ = ["main"]

if __name__ == "__main__":
    main()
