"""The RVL codec in C (`airo_mp_camera/codecs/_rvl.c`) against its numpy reference in compressed_depth.py: the
same bytes out of the encoders, the same pixels out of the decoders, the same quantisation of every kind of
float, and no crash on malformed streams. test_compressed_depth.py checks both against the wire format."""

from __future__ import annotations

import numpy as np
import pytest

from airo_mp_camera.codecs import compressed_depth
from airo_mp_camera.codecs.compressed_depth import (
    encode_compressed_depth,
    rvl_decode,
    rvl_decode_numpy,
    rvl_encode,
    rvl_encode_numpy,
)


def test_the_c_codec_is_built() -> None:
    # `pip install -e .` (make venv, make test-compat) builds it; without it RVL falls back to numpy, ~10x slower.
    assert compressed_depth.NATIVE_RVL, "airo_mp_camera/codecs/_rvl.c was not built: reinstall with a C compiler"


pytestmark = pytest.mark.skipif(not compressed_depth.NATIVE_RVL, reason="the RVL extension (_rvl.c) is not built")


def numpy_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compressed_depth, "_native", None)


def images(rng: np.random.Generator) -> list[np.ndarray]:
    """uint16 images of every kind RVL meets: noise, depth-like walks, holes, long runs, large jumps."""
    out = []
    for shape in [(1, 1), (1, 2), (2, 3), (5, 7), (9, 16), (31, 33), (3, 5000)]:
        for holes in (0.0, 0.06, 0.5, 0.97, 1.0):
            noise = rng.integers(0, 65536, shape).astype(np.uint16)
            walk = (30000 + np.cumsum(rng.integers(-40, 41, shape), axis=1)).astype(np.uint16)
            for pixels in (noise, walk):
                pixels = pixels.copy()
                pixels[rng.random(shape) < holes] = 0
                out.append(pixels)
    steps = np.arange(1, 5000)  # 30000, 30000 + d, 30000, 30000 - d, ...: every zigzag code below 20000
    every_delta = np.full((1, 4 * steps.size + 1), 30000, np.int64)
    every_delta[0, 1:-1:4] += steps
    every_delta[0, 3::4] -= steps
    out.append(every_delta.astype(np.uint16))
    jumps = np.zeros((4, 70000), np.uint16)
    jumps[:, ::7] = rng.integers(1, 65536, jumps[:, ::7].shape)
    jumps[2, 100:60000] = 65535
    out.append(jumps)
    return out


def test_c_encoder_writes_the_numpy_encoders_bytes_and_both_decoders_agree() -> None:
    rng = np.random.default_rng(7)
    for pixels in images(rng):
        payload = rvl_encode(pixels)
        assert payload == rvl_encode_numpy(pixels), pixels.shape
        stream, (height, width) = np.frombuffer(payload, np.uint8)[8:], pixels.shape
        np.testing.assert_array_equal(rvl_decode(payload), pixels)
        np.testing.assert_array_equal(rvl_decode_numpy(stream, width, height), pixels)


def test_c_encoder_takes_views_that_are_not_contiguous() -> None:
    pixels = np.random.default_rng(3).integers(0, 9, (40, 60)).astype(np.uint16)
    view = pixels[::2, 5:50]
    assert rvl_encode(view) == rvl_encode_numpy(np.ascontiguousarray(view))


def test_runs_of_more_than_sixteen_million_pixels_are_coded_like_numpy() -> None:
    # Run lengths of 2**24 and more take 9 nibbles: more than one append of the C writer.
    pixels = np.zeros((1, 2**24 + 11), np.uint16)
    pixels[0, -3:] = [5, 6, 7]
    payload = rvl_encode(pixels)
    assert payload == rvl_encode_numpy(pixels)
    np.testing.assert_array_equal(rvl_decode(payload), pixels)


def special_depths() -> np.ndarray:
    """float32 depths at every edge of the inverse-depth quantisation, with image_transport's defaults and others."""
    tiny = np.finfo(np.float32).tiny
    edges = [np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, tiny, tiny / 4, 1e-30, 0.1, 0.15, 0.152, 0.1525, 0.153]
    edges += [1.0, 9.999, np.nextafter(np.float32(10.0), np.float32(0.0)), 10.0, 10.0001, 12.0, 1e30]
    edges += [np.nextafter(np.float32(4.0), np.float32(0.0)), 4.0, 0.0375, 0.038, 65535.0]
    rng = np.random.default_rng(11)
    around = rng.uniform(0.14, 0.17, 500).astype(np.float32)  # where A / d + B crosses 65536
    return np.concatenate([np.array(edges, np.float32), around, rng.uniform(0.1, 12.0, 2000).astype(np.float32)])


@pytest.mark.parametrize(("depth_max", "depth_quantization"), [(10.0, 100.0), (4.0, 50.0), (20.0, 200.0), (3.3, 7.5)])
def test_fused_c_quantisation_is_bit_identical_to_numpys(
    depth_max: float, depth_quantization: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    depth = special_depths().reshape(1, -1)
    kwargs = {"encoding": "32FC1", "codec": "rvl", "depth_max": depth_max, "depth_quantization": depth_quantization}
    native = encode_compressed_depth(depth, **kwargs)
    numpy_only(monkeypatch)
    reference = encode_compressed_depth(depth, **kwargs)
    assert native == reference
    assert np.isfinite(compressed_depth.decode_compressed_depth(*native)).sum() > 1000


def test_fused_c_quantisation_takes_float64_and_strided_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    depth = np.random.default_rng(5).uniform(0.1, 11.0, (30, 80))  # float64
    view = depth[::3, 1::2]
    native = encode_compressed_depth(view, encoding="32FC1", codec="rvl")
    numpy_only(monkeypatch)
    assert native == encode_compressed_depth(view, encoding="32FC1", codec="rvl")


def decode_or_error(decode: object, *args: object) -> np.ndarray | str:
    try:
        return decode(*args)  # type: ignore[operator]
    except ValueError as error:
        return f"ValueError: {error}"


def test_c_decoder_survives_malformed_streams_and_accepts_whatever_numpy_accepts() -> None:
    rng = np.random.default_rng(13)
    valid = [rvl_encode(pixels) for pixels in images(rng)[::9]]
    cases = []
    for payload in valid:
        for _ in range(20):
            damaged = bytearray(payload)
            for k in rng.integers(8, max(len(damaged), 9), rng.integers(1, 4)):
                if k < len(damaged):
                    damaged[k] = int(rng.integers(0, 256))
            cut = int(rng.integers(8, len(damaged) + 1))
            cases += [bytes(damaged), bytes(damaged[:cut])]
    cases += [bytes(rng.integers(0, 256, n).astype(np.uint8)) for n in (8, 9, 12, 40, 1000)]
    accepted = 0
    for payload in cases:
        native = decode_or_error(rvl_decode, payload)
        size = np.frombuffer(payload[:8], "<u4")
        width, height = int(size[0]), int(size[1])
        if width * height == 0 or width * height > 2**24:
            assert isinstance(native, str)
            continue
        reference = decode_or_error(rvl_decode_numpy, np.frombuffer(payload, np.uint8)[8:], width, height)
        if isinstance(reference, np.ndarray):
            # numpy reads every number of the stream; C stops after the last pixel, as the plugin does
            assert isinstance(native, np.ndarray), native
            np.testing.assert_array_equal(native, reference)
            accepted += 1
        elif isinstance(native, np.ndarray):
            assert "longer than 33 bits" in reference  # in trailing bytes numpy read and C did not
        else:
            assert native.startswith("ValueError: malformed RVL image")
    assert accepted > 10  # damage inside values leaves a decodable stream


@pytest.mark.parametrize(
    ("width", "height", "stream", "message"),
    [
        (4, 1, b"", "no complete number"),
        (4, 1, b"\x00\x00\x00\x11", "ends after 2 of 4x1"),
        (4, 1, b"\xff\xff\xff\xff", "no complete number"),
        (3, 1, b"\x00\x40\xa1\x22", "describes 4 pixels, expected 3x1"),
        (16, 1, b"\x00\x00\x00\x2f", "ends after 2 of 16x1"),
    ],
)
def test_c_decoder_names_the_problem(width: int, height: int, stream: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compressed_depth.rvl_decode(np.array([width, height], "<u4").tobytes() + stream)


@pytest.mark.parametrize(("depth_max", "depth_quantization"), [(10.0, 100.0), (4.0, 50.0), (3.3, 7.5)])
def test_c_dequantisation_is_bit_identical_to_numpys_for_every_value(
    depth_max: float, depth_quantization: float
) -> None:
    a, b = compressed_depth.quantization_parameters(depth_max, depth_quantization)
    every = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    native = compressed_depth.dequantize_inverse_depth(every, float(a), float(b))
    reference = compressed_depth.dequantize_inverse_depth_numpy(every, float(a), float(b))
    np.testing.assert_array_equal(native.view(np.uint32), reference.view(np.uint32))
    assert np.isnan(native[0, 0]) and np.isfinite(native.reshape(-1)[1:]).all()
