"""ament_python package: `colcon build` and `pip install .` both work."""

from glob import glob

from setuptools import Extension, find_packages, setup

package_name = "airo_mp_camera"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "benchmarks", "examples"]),
    # The RVL depth codec in C (compressedDepth of the ROS bridges); compressed_depth.py falls back to numpy,
    # about ten times slower, where it was not built. Needs a C compiler and the Python headers at install.
    package_data={"airo_mp_camera.codecs": ["_rvl.pyi"]},
    ext_modules=[
        Extension(
            "airo_mp_camera.codecs._rvl",
            ["airo_mp_camera/codecs/_rvl.c"],
            extra_compile_args=["-O3", "-ffp-contract=off", "-std=c99", "-Wall", "-Wextra"],
        )
    ],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/launch", glob("launch/*.py")),
        (f"share/{package_name}/config", glob("config/*")),
    ],
    # Supported platforms (README, "Platforms"): ROS 2 Humble (Python 3.10, numpy 1.21), Jazzy and Kilted
    # (Python 3.12, numpy 1.26), and Python 3.11 with numpy 2 (the PyPI ROS wheels).
    python_requires=">=3.10",
    install_requires=["numpy>=1.21", "airo-ipc>=0.3", "typing_extensions", "pyyaml"],
    extras_require={
        "replay": ["rosbags>=0.10"],
        "compressed": ["opencv-python-headless>=4.5"],  # <image>/compressed topics of the ROS bridge
        # rerun-sdk 0.23 is the first with the API the logger uses; its pyarrow, and rerun-sdk >= 0.24, need
        # numpy 2, so the Rerun logger is not available on Humble's or Jazzy's numpy. Video recording needs
        # the ffmpeg executable (apt install ffmpeg), no extra.
        "rerun": ["rerun-sdk>=0.23", "numpy>=2"],
    },
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Operating System :: POSIX :: Linux",
    ],
    zip_safe=False,
    maintainer="airo_mp_camera maintainers",
    maintainer_email="maintainers@airo-mp-camera.org",
    description="Camera frames in shared memory for controllers, bridged to ROS 2 topics.",
    license="MIT",
    entry_points={
        "console_scripts": [
            "camera_node = airo_mp_camera.ros.camera_node:main",
            "bridge_node = airo_mp_camera.ros.bridge_node:main",
            "remote_bridge_node = airo_mp_camera.ros.remote_bridge_node:main",
        ],
    },
)
