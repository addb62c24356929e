"""Cameras a publisher can host: synthetic, ZED (pyzed, imported lazily), replay of a bag."""

from airo_mp_camera.cameras.interface import LEFT_RGB, RIGHT_RGB, PointCloud
from airo_mp_camera.cameras.synthetic import SyntheticCamera

__all__ = ["LEFT_RGB", "RIGHT_RGB", "PointCloud", "SyntheticCamera"]
