"""The ROS 2 side: nodes that host a camera publisher and bridge shared memory to sensor_msgs topics.

Importing this package needs rclpy; the core package (`airo_mp_camera`) does not import it.
"""
