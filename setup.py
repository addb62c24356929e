"""ament_python package: `colcon build` and `pip install .` both work."""

from glob import glob

from setuptools import find_packages, setup

package_name = "airo_mp_camera"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "benchmarks", "examples"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/launch", glob("launch/*.py")),
        (f"share/{package_name}/config", glob("config/*")),
    ],
    python_requires=">=3.10",
    install_requires=["numpy", "airo-ipc>=0.3", "typing_extensions", "pyyaml"],
    extras_require={
        "replay": ["rosbags>=0.10"],
        "compressed": ["opencv-python-headless"],  # <image>/compressed topics of the ROS bridge
        "rerun": ["rerun-sdk>=0.23"],  # video recording needs the ffmpeg executable (apt install ffmpeg)
    },
    zip_safe=True,
    maintainer="airo_mp_camera maintainers",
    maintainer_email="maintainers@airo-mp-camera.org",
    description="Camera frames in shared memory for controllers, bridged to ROS 2 topics.",
    license="MIT",
    entry_points={
        "console_scripts": [
            "camera_node = airo_mp_camera.ros.camera_node:main",
            "bridge_node = airo_mp_camera.ros.bridge_node:main",
        ],
    },
)
