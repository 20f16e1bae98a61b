"""librealsense's ROS1 ``.bag`` layout (file version 4), as in ``src/media/ros/ros_file_format.h``.

Topics are ``/device_0/sensor_<s>/<Stream>_<i>/...``; message types are ROS1 noetic's plus
``realsense_msgs/StreamInfo``. One typestore serves the reader and the writer.
"""

from __future__ import annotations

import re
from functools import cache

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

FILE_VERSION = 4
FILE_VERSION_TOPIC = "/file_version"
DEVICE_INFO_TOPIC = "/device_0/info"

STREAM_INFO_MSG = "realsense_msgs/msg/StreamInfo"
STREAM_INFO_DEF = "uint32 fps\nstring encoding\nbool is_recommended\n"

#: stream name in topics -> (stream kind used in this package, ROS image encoding written by default)
STREAMS = {"Depth": ("depth", "mono16"), "Color": ("color", "rgb8")}

#: the depth encoding librealsense writes for Z16
DEPTH_ENCODING = "mono16"

#: colour encodings librealsense writes that are read here: bytes per pixel and where R, G, B lie in a pixel
#: (``BGR8`` and ``BGRA8`` are recorded as the camera sends them; an alpha byte is dropped)
COLOR_ENCODINGS = {"rgb8": (3, (0, 1, 2)), "bgr8": (3, (2, 1, 0)), "rgba8": (4, (0, 1, 2)), "bgra8": (4, (2, 1, 0))}
KIND_TO_TOPIC_NAME = {kind: name for name, (kind, _) in STREAMS.items()}

IMAGE_TOPIC = re.compile(r"^/device_(\d+)/sensor_(\d+)/(Depth|Color)_(\d+)/image/data$")


def stream_prefix(sensor: int, kind: str, index: int = 0) -> str:
    """Topic prefix of one stream, e.g. ``/device_0/sensor_1/Color_0``."""
    return f"/device_0/sensor_{sensor}/{KIND_TO_TOPIC_NAME[kind]}_{index}"


@cache
def typestore() -> Typestore:
    """ROS1 noetic types plus ``realsense_msgs/StreamInfo``."""
    store = get_typestore(Stores.ROS1_NOETIC)
    store.register(get_types_from_msg(STREAM_INFO_DEF, STREAM_INFO_MSG))
    return store
