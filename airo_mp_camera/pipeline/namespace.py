"""Shared-memory namespaces: validation and the mapping from ROS-style names to segment names."""

from __future__ import annotations

import re

from airo_mp_camera.pipeline.errors import InvalidNamespaceError

SEGMENT_PREFIX = "airo_mp_camera."
MAX_NAMESPACE_LENGTH = 100
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def validate_namespace(namespace: str) -> str:
    """Checks a namespace and returns it without leading or trailing slashes.

    A namespace follows ROS naming: tokens of ASCII letters, digits and single underscores, separated
    by '/', each token starting with a letter or underscore. Double underscores are refused because
    '/' maps to '__' in the segment name.

    Raises:
        InvalidNamespaceError: naming what is wrong with the namespace.

    """
    if not isinstance(namespace, str):
        raise InvalidNamespaceError(f"shared-memory namespace must be a str, got {type(namespace).__name__}")
    stripped = namespace.strip("/")
    if not stripped:
        raise InvalidNamespaceError(f"shared-memory namespace {namespace!r} is empty")
    if not namespace.isascii():
        raise InvalidNamespaceError(f"shared-memory namespace {namespace!r} must be ASCII")
    if len(stripped) > MAX_NAMESPACE_LENGTH:
        raise InvalidNamespaceError(
            f"shared-memory namespace {namespace!r} is {len(stripped)} characters long; at most "
            f"{MAX_NAMESPACE_LENGTH} are allowed"
        )
    if "__" in stripped:
        raise InvalidNamespaceError(f"shared-memory namespace {namespace!r} must not contain '__'")
    for token in stripped.split("/"):
        if not _TOKEN.fullmatch(token):
            raise InvalidNamespaceError(
                f"shared-memory namespace {namespace!r}: part {token!r} must start with a letter or '_' and "
                "hold only ASCII letters, digits and '_' (parts are separated by single '/')"
            )
    return stripped


def segment_name(namespace: str) -> str:
    """The name of the shared-memory segment (a file in /dev/shm) of a namespace."""
    return SEGMENT_PREFIX + validate_namespace(namespace).replace("/", "__")
