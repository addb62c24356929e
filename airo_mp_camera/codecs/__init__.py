"""Codecs of the ROS wire formats (compressedDepth: PNG or RVL, the latter in C), below both layers that use them.

The ROS bridges encode with them and replay (`airo_mp_camera.cameras`) decodes with them; numpy and OpenCV only,
no ROS needed.
"""
