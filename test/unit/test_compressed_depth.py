"""compressedDepth (image_transport's compressed_depth_image_transport wire format): round trips checked against
the documented layout, parsed here independently (struct for the header, cv2.imdecode for the PNG, a plain
Python RVL encoder written from the algorithm's description for the RVL bytes). Every test runs with the RVL
codec in C and with its numpy fallback."""

from __future__ import annotations

import array
import struct

import cv2
import numpy as np
import pytest

from airo_mp_camera.codecs import compressed_depth
from airo_mp_camera.codecs.compressed_depth import (
    decode_compressed_depth,
    encode_compressed_depth,
    rvl_decode,
    rvl_encode,
)

# image_transport's defaults: depth_max 10 m, depth_quantization z0 = 100, so A = z0 (z0 + 1), B = 1 - A / 10.
A = np.float32(100.0 * 101.0)
B = np.float32(1.0) - A / np.float32(10.0)


@pytest.fixture(autouse=True, params=["native", "numpy"])
def rvl_implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "numpy":
        monkeypatch.setattr(compressed_depth, "_native", None)
    elif not compressed_depth.NATIVE_RVL:
        pytest.skip("the RVL extension (_rvl.c) is not built here; test_rvl_native.py fails for that")
    return str(request.param)


def header_and_payload(data: bytes) -> tuple[tuple[int, float, float], bytes]:
    return struct.unpack("<iff", data[:12]), data[12:]


def reference_rvl(pixels: np.ndarray) -> bytes:
    """RVL of row-major uint16 pixels, one number at a time: (zeros, non-zeros, zigzag deltas...) as base-8
    varints of 4-bit nibbles, packed eight to a little-endian uint32, the first nibble in the top bits."""
    nibbles: list[int] = []

    def put(number: int) -> None:
        while True:
            group, number = number & 7, number >> 3
            nibbles.append(group | (8 if number else 0))
            if not number:
                return

    flat = [int(v) for v in pixels.reshape(-1)]
    i, previous = 0, 0
    while i < len(flat):
        start = i
        while i < len(flat) and flat[i] == 0:
            i += 1
        put(i - start)
        start = i
        while i < len(flat) and flat[i] != 0:
            i += 1
        put(i - start)
        for value in flat[start:i]:
            delta = value - previous
            put(2 * delta if delta >= 0 else -2 * delta - 1)
            previous = value
    nibbles += [0] * (-len(nibbles) % 8)
    words = [int("".join(f"{n:x}" for n in nibbles[k : k + 8]), 16) for k in range(0, len(nibbles), 8)]
    height, width = pixels.shape
    return struct.pack("<II", width, height) + b"".join(struct.pack("<I", w) for w in words)


def realistic_depth(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    depth = np.linspace(0.3, 9.5, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    depth *= 1.0 + 0.01 * depth * rng.standard_normal((height, width)).astype(np.float32)
    depth[rng.random((height, width)) < 0.05] = np.nan
    return depth


@pytest.mark.parametrize(
    ("encoding", "codec", "expected"),
    [
        ("32FC1", "png", "32FC1; compressedDepth png"),
        ("32FC1", "rvl", "32FC1; compressedDepth rvl"),
        ("16UC1", "png", "16UC1; compressedDepth png"),
        ("16UC1", "rvl", "16UC1; compressedDepth rvl"),
    ],
)
def test_format_string_is_the_plugins(encoding: str, codec: str, expected: str) -> None:
    depth = np.ones((4, 6), np.float32) if encoding == "32FC1" else np.full((4, 6), 1000, np.uint16)
    format, _ = encode_compressed_depth(depth, encoding=encoding, codec=codec)
    assert format == expected


def test_32fc1_header_carries_inverse_depth_format_and_quantisation_parameters() -> None:
    _, data = encode_compressed_depth(np.ones((3, 5), np.float32), encoding="32FC1")
    (compression, a, b), _ = header_and_payload(data)
    assert compression == 0
    assert a == pytest.approx(10100.0) and a == float(A)
    assert b == pytest.approx(-1009.0) and b == float(B)


def test_32fc1_png_payload_is_a_16_bit_png_of_truncated_inverse_depth() -> None:
    depth = realistic_depth(37, 53)
    _, data = encode_compressed_depth(depth, encoding="32FC1", codec="png")
    _, payload = header_and_payload(data)
    assert payload[:8] == b"\x89PNG\r\n\x1a\n"
    decoded = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint16 and decoded.shape == depth.shape
    valid = np.isfinite(depth) & (depth < 10.0)
    assert not valid.all()  # some NaN holes and some depths beyond depth_max
    expected = np.trunc(A / depth[valid] + B)
    np.testing.assert_array_equal(decoded[valid], expected.astype(np.uint16))
    assert np.all(decoded[~valid] == 0)


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_32fc1_round_trip_is_within_one_inverse_depth_step(codec: str) -> None:
    # q = trunc(A/d + B) and d' = A / (q - B), so 0 <= A/d - A/d' < 1: d <= d' < d + d^2 / (A - d).
    rng = np.random.default_rng(1)
    depth = rng.uniform(0.16, 9.999, (61, 47)).astype(np.float32)
    format, data = encode_compressed_depth(depth, encoding="32FC1", codec=codec)
    decoded = decode_compressed_depth(format, data)
    assert decoded.dtype == np.float32 and decoded.shape == depth.shape and np.isfinite(decoded).all()
    d, d_decoded = depth.astype(np.float64), decoded.astype(np.float64)
    slack = 1e-3  # float32 rounding of A / d + B near 65535 and of the division back
    steps = float(A) / d - float(A) / d_decoded
    assert steps.min() >= -slack and steps.max() < 1 + slack
    assert np.all(d_decoded - d <= d * d / (float(A) - d) * (1 + slack) + 1e-6)
    assert np.all(d_decoded - d >= -1e-6)
    assert (d_decoded - d).max() > 0.5 * (d * d / float(A)).min()  # quantised, not passed through


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_invalid_and_out_of_range_depths_decode_as_nan(codec: str) -> None:
    depth = np.array(
        [[np.nan, 0.0, np.inf, -np.inf, -1.0, 10.0, 12.0, 0.1], [1.0, 2.0, 9.99, 0.2, 5.0, 0.5, 3.0, 7.0]],
        np.float32,
    )
    format, data = encode_compressed_depth(depth, encoding="32FC1", codec=codec)
    decoded = decode_compressed_depth(format, data)
    # NaN, 0, +-inf, negative, >= depth_max, and closer than A / (65536 - B) = 0.152 m are invalid
    assert np.isnan(decoded[0]).all()
    assert np.isfinite(decoded[1]).all()
    np.testing.assert_allclose(decoded[1], depth[1], rtol=2e-3)


def test_depth_max_and_quantization_parameters_change_the_header_and_the_cut() -> None:
    depth = np.array([[1.0, 3.9, 4.0, 4.5]], np.float32)
    format, data = encode_compressed_depth(depth, encoding="32FC1", depth_max=4.0, depth_quantization=50.0)
    (_, a, b), _ = header_and_payload(data)
    assert a == pytest.approx(50.0 * 51.0) and b == pytest.approx(1.0 - 2550.0 / 4.0)
    decoded = decode_compressed_depth(format, data)
    assert np.isfinite(decoded[0, :2]).all() and np.isnan(decoded[0, 2:]).all()


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_16uc1_round_trip_is_exact_and_cuts_beyond_depth_max(codec: str) -> None:
    rng = np.random.default_rng(2)
    millimetres = rng.integers(0, 12000, (29, 31)).astype(np.uint16)
    millimetres[rng.random(millimetres.shape) < 0.2] = 0
    format, data = encode_compressed_depth(millimetres, encoding="16UC1", codec=codec)
    assert format == f"16UC1; compressedDepth {codec}"
    decoded = decode_compressed_depth(format, data)
    assert decoded.dtype == np.uint16
    expected = np.where(millimetres > 10000, 0, millimetres)
    np.testing.assert_array_equal(decoded, expected)
    assert millimetres.max() > 10000  # the input itself is left alone
    (compression, _, _), payload = header_and_payload(data)
    assert compression == 0
    if codec == "png":
        np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_UNCHANGED), expected)
    else:
        assert payload == reference_rvl(expected)


def test_rvl_payload_of_a_small_image_matches_the_layout_worked_by_hand() -> None:
    # zeros 2, non-zeros 2, zigzag(5) = 10 = nibbles 0xA 0x1, zigzag(7 - 5) = 4: nibbles 2 2 A 1 4, zero padded,
    # in one little-endian word 0x22A14000; before it uint32 width 4 and height 1.
    payload = rvl_encode(np.array([[0, 0, 5, 7]], np.uint16))
    assert payload == struct.pack("<III", 4, 1, 0x22A14000)


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (3, 5), (7, 13), (16, 9), (2, 40000)])
def test_rvl_bytes_match_a_plain_python_encoder(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for fraction_invalid in (0.0, 0.3, 0.9, 1.0):
        pixels = rng.integers(1, 65536, shape).astype(np.uint16)
        if shape[1] > 1000:  # long runs and small deltas, as in depth
            pixels = (30000 + np.cumsum(rng.integers(-3, 4, shape), axis=1)).astype(np.uint16)
        pixels[rng.random(shape) < fraction_invalid] = 0
        payload = rvl_encode(pixels)
        assert payload == reference_rvl(pixels)
        np.testing.assert_array_equal(rvl_decode(payload), pixels)


def test_rvl_codes_large_jumps_and_long_runs() -> None:
    pixels = np.zeros((1, 300000), np.uint16)
    pixels[0, :3] = [65535, 1, 65535]
    pixels[0, 150000:150004] = [7, 60000, 60001, 2]
    pixels[0, -1] = 9
    payload = rvl_encode(pixels)
    assert payload == reference_rvl(pixels)
    np.testing.assert_array_equal(rvl_decode(payload), pixels)


def test_rvl_and_png_carry_the_same_quantised_image() -> None:
    depth = realistic_depth(45, 67, seed=3)
    png = decode_compressed_depth(*encode_compressed_depth(depth, encoding="32FC1", codec="png"))
    rvl = decode_compressed_depth(*encode_compressed_depth(depth, encoding="32FC1", codec="rvl"))
    np.testing.assert_array_equal(np.isnan(png), np.isnan(rvl))
    np.testing.assert_array_equal(png[~np.isnan(png)], rvl[~np.isnan(rvl)])


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_all_invalid_image_decodes_as_all_nan(codec: str) -> None:
    depth = np.full((48, 64), np.nan, np.float32)
    format, data = encode_compressed_depth(depth, encoding="32FC1", codec=codec)
    decoded = decode_compressed_depth(format, data)
    assert decoded.shape == (48, 64) and np.isnan(decoded).all()


def test_mostly_invalid_32fc1_rvl_is_padded_past_the_plugins_sanity_check() -> None:
    # The plugin's decoder drops a 32FC1 RVL payload of fewer than pixels / 5 bytes; zero bytes after the
    # stream keep it acceptable and decode to the same image.
    depth = np.full((120, 160), np.nan, np.float32)
    _, padded = encode_compressed_depth(depth, encoding="32FC1", codec="rvl")
    _, exact = encode_compressed_depth(depth, encoding="32FC1", codec="rvl", rvl_plugin_padding=False)
    pixels = 120 * 160
    assert len(exact) - 12 < pixels / 5 <= len(padded) - 12
    assert (len(padded) - 12) % 4 == 0 and padded.startswith(exact)
    assert np.isnan(decode_compressed_depth("32FC1; compressedDepth rvl", padded)).all()


@pytest.mark.parametrize("format", ["32FC1; compressedDepth", "32FC1"])
def test_format_strings_without_a_codec_word_are_png(format: str) -> None:
    depth = realistic_depth(10, 12)
    _, data = encode_compressed_depth(depth, encoding="32FC1", codec="png")
    decoded = decode_compressed_depth(format, data)
    assert np.array_equal(np.isnan(decoded), np.isnan(depth) | (depth >= 10.0))


def test_decoder_accepts_the_buffer_types_of_messages() -> None:
    format, data = encode_compressed_depth(realistic_depth(8, 9), encoding="32FC1", codec="rvl")
    expected = decode_compressed_depth(format, data)
    for buffer in (bytearray(data), memoryview(data), np.frombuffer(data, np.uint8), array.array("B", data)):
        np.testing.assert_array_equal(decode_compressed_depth(format, buffer), expected)


@pytest.mark.parametrize(
    ("format", "data", "message"),
    [
        ("32FC1; compressedDepth png", b"", "too short"),
        ("32FC1; compressedDepth png", struct.pack("<iff", 0, 1.0, 0.0), "too short"),
        ("32FC1; compressedDepth png", struct.pack("<iff", 0, 10100.0, -1009.0) + b"not a png", "not a PNG"),
        ("32FC1; compressedDepth rvl", struct.pack("<iff", 0, 10100.0, -1009.0) + b"\x01", "too short"),
        ("32FC1; compressedDepth rvl", struct.pack("<iffII", 0, 10100.0, -1009.0, 0, 5) + b"\0" * 4, "contains zero"),
        ("16UC1; compressedDepth rvl", struct.pack("<iffII", 0, 0.0, 0.0, 64, 48) + b"\x11\x11\x11\x11", "ends after"),
        (
            "32FC1; compressedDepth rvl",
            struct.pack("<iffII", 0, 10100.0, -1009.0, 8, 8) + b"\xff" * 40,
            "no complete number",
        ),
        (
            "32FC1; compressedDepth rvl",
            struct.pack("<iffII", 0, 1e4, -1e3, 8, 8) + b"\xff" * 8 + b"\0" * 4,
            "longer than",
        ),
        ("32FC1; compressedDepth jpeg", struct.pack("<iff", 0, 1.0, 0.0) + b"x", "unsupported"),
        ("rgb8; compressedDepth png", struct.pack("<iff", 0, 1.0, 0.0) + b"x", "encoding"),
        ("32FC1; compressedDepth png", struct.pack("<iff", 3, 1.0, 0.0) + b"x", "header format"),
    ],
)
def test_malformed_messages_raise_value_error_naming_the_problem(format: str, data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_compressed_depth(format, data)


def test_rvl_stream_describing_too_many_pixels_is_rejected() -> None:
    payload = bytearray(rvl_encode(np.array([[0, 0, 5, 7]], np.uint16)))
    payload[0:4] = struct.pack("<I", 3)  # claims 3x1 while the stream holds 4 pixels
    with pytest.raises(ValueError, match="describes 4 pixels"):
        rvl_decode(bytes(payload))


@pytest.mark.parametrize(
    ("depth", "kwargs", "message"),
    [
        (np.ones((4, 4), np.float32), {"encoding": "32FC2"}, "encoding"),
        (np.ones((4, 4), np.float32), {"encoding": "32FC1", "codec": "zstd"}, "codec"),
        (np.ones((4, 4), np.uint16), {"encoding": "32FC1"}, "float metres"),
        (np.ones((4, 4), np.float32), {"encoding": "16UC1"}, "uint16 millimetres"),
        (np.ones((4, 4, 3), np.float32), {"encoding": "32FC1"}, "HxW"),
        (np.ones((0, 4), np.float32), {"encoding": "32FC1"}, "HxW"),
        (np.ones((4, 4), np.float32), {"encoding": "32FC1", "png_level": 10}, "png_level"),
    ],
)
def test_encoder_rejects_what_it_cannot_encode(depth: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_compressed_depth(depth, **kwargs)


def test_rvl_runs_longer_than_two_million_pixels_round_trip_with_the_exact_length() -> None:
    # Run lengths of 2**21 and more need 8 nibbles each: two of them side by side fill a whole 64-bit word.
    zeros, nonzeros = 2**21 + 5, 2**21 + 3
    pixels = np.zeros((1, zeros + nonzeros), np.uint16)
    pixels[0, zeros:] = 1234
    payload = rvl_encode(pixels)

    def nibbles(number: int) -> int:
        return max(1, -(-number.bit_length() // 3))

    stream = nibbles(zeros) + nibbles(nonzeros) + nibbles(2 * 1234) + (nonzeros - 1)
    assert len(payload) == 8 + 4 * -(-stream // 8)
    np.testing.assert_array_equal(rvl_decode(payload), pixels)
