"""Depth images in image_transport's `compressedDepth` wire format, in numpy and OpenCV (no ROS imports).

The layout is that of ros-perception/image_transport_plugins, package compressed_depth_image_transport
(read on its rolling branch, commit 7404d77; the humble branch differs as noted below). A
sensor_msgs/CompressedImage carries:

    format  "<encoding>; compressedDepth <codec>"   e.g. "32FC1; compressedDepth png", "16UC1; compressedDepth rvl"
    data    CONFIG_HEADER (12 bytes, little-endian) followed by the payload

    CONFIG_HEADER  int32    format          always 0 (inverse depth)
                   float32  depth_param[2]  (A, B) of the inverse-depth quantisation (32FC1 only)

32FC1 (float metres) is quantised as inverse depth: with z0 = depth_quantization,
A = z0 * (z0 + 1) and B = 1 - A / depth_max (float32 arithmetic), a depth d with 0 < d < depth_max becomes
the uint16 q = trunc(A / d + B), and the decoder returns A / (q - B). q = 0 means invalid: NaN, inf, 0,
negative depths and depths >= depth_max all become 0, and decode to NaN. The plugin leaves d <= 0 and depths
so close that A / d + B >= 65536 (below A / (65536 - B), 0.152 m with the defaults) to an undefined float
to integer cast; here they are invalid too. The decoded depth d' satisfies 0 <= 1/d - 1/d' < 1/A, so
d <= d' < d + d**2 / (A - d): about d**2 / A, 1 cm at 10 m with the defaults (A = 10100).

16UC1 (uint16 millimetres) is stored as it is, except that values above depth_max * 1000 become 0.
The plugin leaves depth_param uninitialised for 16UC1; here it is (0.0, 0.0).

Payloads: "png" is a 16-bit greyscale PNG of the quantised (or millimetre) image. "rvl" is Wilson's RVL:
uint32 width, uint32 height, then a stream of 4-bit nibbles packed into little-endian 32-bit words, the
first nibble of a word in its most significant bits, the last word padded with zero nibbles. The stream
alternates (number of zeros, number of non-zeros, each non-zero value) over the row-major pixels, where a
value is the zigzag-coded difference to the previous non-zero value (starting from 0), and every number is
a little-endian base-8 varint: 3 value bits per nibble, bit 3 set when another nibble follows.

RVL is coded in C (`_rvl.c`, built at install, the GIL released while it runs): about 6 times faster to encode
and 4 times to decode than the numpy implementation below (720p realistic depth, benchmarks/depth_codecs.py),
which stays as the reference the C code is tested against and as the fallback where the extension was not
built (`NATIVE_RVL` is False; the bridges then log a warning).

The humble branch (ROS 2 Humble) writes "32FC1; compressedDepth" (no codec word, PNG only) and cannot
decode rvl; its subscribers decode "...; compressedDepth png" as PNG. Both that older string and a format
without ";" are accepted here as PNG, as the plugin does. RVL arrived in ROS 2 on rolling in 2023 (Iron on).

One file, though long: the wire format and its two payload codecs share one switch, `_native` (the C
extension or the numpy reference, for RVL and for the inverse-depth quantisation alike), which the depth
codec benchmark turns off in one place to measure the reference.
"""

from __future__ import annotations

import array
from types import ModuleType
from typing import TypeAlias

import numpy as np

_native: ModuleType | None
try:
    from airo_mp_camera.codecs import _rvl as _native
except ImportError:  # not built (no C compiler at install): the numpy implementation serves
    _native = None

NATIVE_RVL = _native is not None
ENCODINGS = ("32FC1", "16UC1")
CODECS = ("png", "rvl")
INVERSE_DEPTH = 0
CONFIG_HEADER = np.dtype([("format", "<i4"), ("depth_param", "<f4", (2,))])
_RVL_SIZE = np.dtype([("width", "<u4"), ("height", "<u4")])

Buffer: TypeAlias = "bytes | bytearray | memoryview | array.array | np.ndarray"


def _cv2() -> ModuleType:
    import cv2  # opencv-python-headless; only needed when a PNG is encoded or decoded

    return cv2


def format_string(encoding: str, codec: str) -> str:
    """The CompressedImage `format` the plugin writes, e.g. "32FC1; compressedDepth png"."""
    return f"{encoding}; compressedDepth {codec}"


def quantization_parameters(depth_max: float, depth_quantization: float) -> tuple[np.float32, np.float32]:
    """(A, B) of the inverse-depth quantisation q = A / d + B, computed in float32 like the plugin."""
    z0 = np.float32(depth_quantization)
    a = np.float32(z0 * (z0 + np.float32(1.0)))
    b = np.float32(np.float32(1.0) - a / np.float32(depth_max))
    return a, b


def quantize_inverse_depth(
    depth: np.ndarray, depth_max: float = 10.0, depth_quantization: float = 100.0
) -> np.ndarray:
    """uint16 inverse depth of float metres as the plugin computes it; 0 where the depth is invalid."""
    a, b = quantization_parameters(depth_max, depth_quantization)
    depth = np.asarray(depth, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        quantized = np.divide(a, depth, dtype=np.float32)
        quantized += b
        valid = depth > 0
        valid &= depth < np.float32(depth_max)
        valid &= quantized < 65536.0
    quantized[~valid] = 0.0
    return quantized.astype(np.uint16)


def dequantize_inverse_depth(quantized: np.ndarray, a: float, b: float) -> np.ndarray:
    """float32 metres A / (q - B) of a quantised inverse-depth image; NaN where q is 0."""
    if _native is not None and quantized.dtype == np.uint16:
        out = np.empty(quantized.shape, np.float32)
        _native.dequantize_inverse_depth(np.ascontiguousarray(quantized), out, float(a), float(b))
        return out
    return dequantize_inverse_depth_numpy(quantized, a, b)


def dequantize_inverse_depth_numpy(quantized: np.ndarray, a: float, b: float) -> np.ndarray:
    """`dequantize_inverse_depth` in numpy: the reference of the C loop, and its fallback."""
    a32, b32 = np.float32(a), np.float32(b)
    depth = quantized.astype(np.float32)
    depth -= b32
    with np.errstate(divide="ignore"):
        np.divide(a32, depth, out=depth)
    depth[quantized == 0] = np.nan
    return depth


def encode_compressed_depth(
    depth: np.ndarray,
    *,
    encoding: str,
    codec: str = "png",
    depth_max: float = 10.0,
    depth_quantization: float = 100.0,
    png_level: int = 1,
    rvl_plugin_padding: bool = True,
) -> tuple[str, bytes]:
    """Encodes a depth image as compressed_depth_image_transport does.

    Args:
        depth: HxW depth: float metres for "32FC1" (NaN, inf, <= 0 and >= depth_max are invalid), uint16
            millimetres for "16UC1" (0 is invalid, values above depth_max * 1000 become 0).
        encoding: "32FC1" or "16UC1": the encoding of the Image the message stands for.
        codec: "png" or "rvl".
        depth_max: largest depth kept, in metres (the plugin's `depth_max`, default 10).
        depth_quantization: z0 of the inverse-depth quantisation (the plugin's `depth_quantization`, default 100).
        png_level: zlib level 0-9 of the PNG codec (the plugin defaults to 3; 1 is much faster on noisy depth).
        rvl_plugin_padding: the plugin's decoder rejects a 32FC1 RVL payload smaller than a fifth of the pixel
            count (a sanity check that also rejects mostly invalid frames, which RVL compresses more than
            that); pad such payloads with zero bytes after the stream, which every decoder ignores, so that
            image_transport subscribers accept them. False gives the plugin's encoder's exact bytes.

    Returns:
        (format, data): the CompressedImage `format` string and `data` bytes.

    Raises:
        ValueError: on an unknown encoding or codec, a dtype or shape that does not fit the encoding, or
            parameters out of range.

    """
    if encoding not in ENCODINGS:
        raise ValueError(f"compressedDepth encoding must be one of {ENCODINGS}, got {encoding!r}")
    if codec not in CODECS:
        raise ValueError(f"compressedDepth codec must be one of {CODECS}, got {codec!r}")
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.shape[0] == 0 or depth.shape[1] == 0:
        raise ValueError(f"compressedDepth needs a non-empty HxW depth image, got shape {depth.shape}")
    if not depth_max > 0:
        raise ValueError(f"compressedDepth depth_max must be positive, got {depth_max}")
    if not 0 <= png_level <= 9:
        raise ValueError(f"compressedDepth png_level must be in 0..9, got {png_level}")
    if encoding == "32FC1":
        if not np.issubdtype(depth.dtype, np.floating):
            raise ValueError(f"32FC1 compressedDepth needs float metres, got dtype {depth.dtype}")
        if not depth_quantization > 0:
            raise ValueError(f"compressedDepth depth_quantization must be positive, got {depth_quantization}")
        a, b = quantization_parameters(depth_max, depth_quantization)
        pixels: np.ndarray | None = None  # rvl quantises as it codes
        if codec == "png":
            pixels = quantize_inverse_depth(depth, depth_max, depth_quantization)
    else:
        if depth.dtype != np.uint16:
            raise ValueError(f"16UC1 compressedDepth needs uint16 millimetres, got dtype {depth.dtype}")
        a = b = np.float32(0.0)
        limit = min(int(depth_max * 1000.0), 65535)
        pixels = depth
        if limit < 65535:
            above = depth > limit
            if above.any():
                pixels = depth.copy()
                pixels[above] = 0
    header = np.zeros((), CONFIG_HEADER)
    header["format"] = INVERSE_DEPTH
    header["depth_param"] = (a, b)
    prefix = header.tobytes()
    if codec == "png":
        assert pixels is not None
        cv2 = _cv2()
        ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels), [cv2.IMWRITE_PNG_COMPRESSION, int(png_level)])
        if not ok:
            raise ValueError(f"OpenCV could not encode a {pixels.shape} 16-bit image as PNG")
        return format_string(encoding, codec), prefix + encoded.tobytes()
    height, width = depth.shape
    if _native is not None and pixels is None:  # quantised and coded in one pass, without the GIL
        depth32 = np.ascontiguousarray(depth, dtype=np.float32)
        data = _native.encode_inverse_depth(depth32, width, height, float(a), float(b), float(depth_max), prefix)
    else:
        if pixels is None:
            pixels = quantize_inverse_depth(depth, depth_max, depth_quantization)
        data = _rvl_encode(pixels, prefix)
    smallest = -(-depth.size // 5)
    if rvl_plugin_padding and encoding == "32FC1" and len(data) - len(prefix) < smallest:
        data += bytes(smallest + (-smallest) % 4 - len(data) + len(prefix))
    return format_string(encoding, codec), data


def parse_format(format: str) -> tuple[str, str]:
    """(encoding, codec) of a compressedDepth `format` string, read as the plugin's decoder reads it.

    Raises:
        ValueError: when the part after ";" names no codec the plugin knows.

    """
    encoding, separator, rest = format.partition(";")
    encoding = encoding.strip()
    if not separator:
        return encoding, "png"  # the oldest publishers wrote the encoding only
    if "compressedDepth png" in rest:
        return encoding, "png"
    if "compressedDepth rvl" in rest:
        return encoding, "rvl"
    if "compressedDepth" in rest and "compressedDepth " not in rest:
        return encoding, "png"  # humble and ROS 1 before rvl: "32FC1; compressedDepth"
    raise ValueError(f"unsupported compressedDepth format {format!r}: expected '<encoding>; compressedDepth png|rvl'")


def _as_bytes(data: Buffer) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    return np.frombuffer(data, dtype=np.uint8)


def decode_compressed_depth(format: str, data: Buffer) -> np.ndarray:
    """Decodes a compressedDepth message's `format` and `data`.

    Args:
        format: the CompressedImage `format`, e.g. "32FC1; compressedDepth png".
        data: the CompressedImage `data` (bytes, array.array, memoryview or a uint8 numpy array).

    Returns:
        HxW float32 metres with NaN where invalid for 32FC1, HxW uint16 millimetres (0 invalid) for 16UC1
        (and the other 16-bit single-channel encodings, "mono16").

    Raises:
        ValueError: naming what is wrong: unknown format or encoding, data too short, a header that is not
            inverse depth, an undecodable PNG, or a malformed RVL stream.

    """
    encoding, codec = parse_format(format)
    if encoding not in ("32FC1", "16UC1", "mono16"):
        raise ValueError(f"compressedDepth format {format!r}: encoding {encoding!r} is not 32FC1, 16UC1 or mono16")
    raw = _as_bytes(data)
    if raw.size <= CONFIG_HEADER.itemsize:
        raise ValueError(
            f"compressedDepth data of {raw.size} bytes is too short: expected a {CONFIG_HEADER.itemsize}-byte "
            "header and a payload"
        )
    header = raw[: CONFIG_HEADER.itemsize].view(CONFIG_HEADER)[0]
    if int(header["format"]) != INVERSE_DEPTH:
        raise ValueError(f"compressedDepth header format is {int(header['format'])}, expected 0 (inverse depth)")
    payload = raw[CONFIG_HEADER.itemsize :]
    if codec == "png":
        cv2 = _cv2()
        pixels = cv2.imdecode(payload, cv2.IMREAD_UNCHANGED)
        if pixels is None:
            raise ValueError(f"compressedDepth payload of {payload.size} bytes is not a PNG OpenCV can decode")
        if pixels.dtype != np.uint16 or pixels.ndim != 2:
            raise ValueError(f"compressedDepth PNG must be 16-bit greyscale, got {pixels.dtype} {pixels.shape}")
    else:
        pixels = rvl_decode(payload)
    if encoding != "32FC1":
        return pixels
    a, b = header["depth_param"]
    if not (np.isfinite(a) and np.isfinite(b) and a > 0):
        raise ValueError(f"compressedDepth header has invalid quantisation parameters A={a}, B={b}")
    return dequantize_inverse_depth(pixels, float(a), float(b))


# RVL encoding, vectorised: every number of the stream (run lengths and zigzag deltas) becomes a uint64
# "code" holding its nibbles in stream order (first nibble most significant) and its nibble count in the top
# byte; codes are then laid end to end into 64-bit words, 16 nibbles each, in chunks that stay in cache.
_U64 = np.uint64
_COUNT_SHIFT = _U64(56)
_CODE_MASK = _U64((1 << 56) - 1)
_CHUNK_PIXELS = 32768
_DELTA_CODES: np.ndarray | None = None


def _varint_codes(numbers: np.ndarray) -> np.ndarray:
    """Codes (nibbles | count << 56) of non-negative numbers below 2**33."""
    rest = numbers.astype(np.uint64)
    codes = np.zeros(rest.shape, np.uint64)
    counts = np.zeros(rest.shape, np.uint64)
    index = np.arange(rest.size)
    while index.size:
        group = rest & _U64(7)
        rest = rest >> _U64(3)
        more = rest != 0
        codes[index] = (codes[index] << _U64(4)) | group | (more.astype(np.uint64) << _U64(3))
        counts[index] += _U64(1)
        keep = np.flatnonzero(more)
        index, rest = index[keep], rest[keep]
    return codes | (counts << _COUNT_SHIFT)


def _delta_codes() -> np.ndarray:
    """Codes of the zigzag of every delta in -65535..65535, indexable by the (possibly negative) delta."""
    global _DELTA_CODES
    if _DELTA_CODES is None:
        deltas = np.arange(131072, dtype=np.int64)
        deltas[65536:] -= 131072  # entry 131072 + d for d < 0, so that table[d] works for negative d
        _DELTA_CODES = _varint_codes((deltas << 1) ^ (deltas >> 63))
    return _DELTA_CODES


def _count_codes(counts: np.ndarray, delta_codes: np.ndarray) -> np.ndarray:
    """Codes of run lengths; the delta table holds every number below 131072 (the zigzag of n >> 1 ^ -(n & 1))."""
    counts = counts.astype(np.int64)
    if counts.size and int(counts.max()) >= 131072:
        return _varint_codes(counts)
    return delta_codes[(counts >> 1) ^ -(counts & 1)]


def _lay_codes(codes: np.ndarray, counts: np.ndarray, words: np.ndarray, offset: int) -> int:
    """ORs codes (at most 16 nibbles each, `counts` uint8; overwritten) into 64-bit words from nibble `offset` on.

    Returns the nibble offset after the last code.
    """
    end = np.cumsum(counts, dtype=np.uint32)
    end += np.uint32(offset)
    start = end - counts
    word = start >> 4
    column = start & 15  # where the code's first nibble goes in its word
    # Codes of one word occupy disjoint bits, so a word is the difference of a running sum at its last code;
    # only a word's last code can run on into the next word.
    lasts = np.flatnonzero(word[1:] != word[:-1])
    lasts = np.append(lasts, word.size - 1)
    spill = lasts[end[lasts] > (word[lasts] + 1) * 16]
    align = np.subtract(np.uint8(16), counts)
    align <<= np.uint8(2)
    codes <<= align  # first nibble at the top of the 64 bits
    column <<= 2
    placed = codes >> column
    spilled = codes[spill] << (_U64(64) - column[spill].astype(np.uint64))
    np.cumsum(placed, out=placed)
    summed = placed[lasts]
    summed[1:] -= summed[:-1].copy()
    first = int(word[0])
    words[first : first + summed.size] |= summed
    words[word[spill] + 1] |= spilled
    return int(end[-1])


def _pair_codes(codes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joins codes two by two (an even number of them, at most 16 nibbles a pair): half the work to lay them out."""
    joined = codes[0::2] << (counts[1::2] << np.uint8(2))
    joined |= codes[1::2]
    return joined, counts[0::2] + counts[1::2]


def rvl_encode(pixels: np.ndarray) -> bytes:
    """RVL payload (uint32 width, uint32 height, nibble words) of a uint16 HxW image, as the plugin lays it out."""
    return _rvl_encode(pixels, b"")


def _rvl_encode(pixels: np.ndarray, prefix: bytes) -> bytes:
    """The RVL payload of pixels after `prefix`, in C when it was built."""
    if pixels.dtype != np.uint16 or pixels.ndim != 2 or pixels.size == 0:
        raise ValueError(f"RVL encodes non-empty HxW uint16 images, got {pixels.dtype} {pixels.shape}")
    height, width = pixels.shape
    if _native is not None:
        return _native.encode(np.ascontiguousarray(pixels), width, height, prefix)
    return prefix + rvl_encode_numpy(pixels)


def rvl_encode_numpy(pixels: np.ndarray) -> bytes:
    """`rvl_encode` in numpy: the reference of the C encoder, and its fallback."""
    height, width = pixels.shape
    flat = np.ascontiguousarray(pixels).reshape(-1)
    count = flat.size
    delta_codes = _delta_codes()
    nonzero = flat != 0
    flags = nonzero.view(np.int8)
    edges = np.flatnonzero(flags[1:] != flags[:-1])
    edges += 1
    if count and flags[0]:
        edges = np.concatenate(([0], edges))
    if count and flags[-1]:
        edges = np.append(edges, count)
    run_starts, run_ends = edges[0::2], edges[1::2]
    pair_starts = np.concatenate(([0], run_ends[:-1]))[: run_starts.size]
    zeros = run_starts - pair_starts
    nonzeros = run_ends - run_starts
    tail = count - (int(run_ends[-1]) if run_ends.size else 0)
    if tail:  # the stream ends with a run of zeros and an empty run of non-zeros
        pair_starts = np.append(pair_starts, count - tail)
        zeros = np.append(zeros, tail)
        nonzeros = np.append(nonzeros, 0)
    # Runs longer than 2**24 pixels would need codes of more than 8 nibbles: lay them out unpaired.
    pairable = not zeros.size or int(max(zeros.max(), nonzeros.max())) < 2**24
    zero_codes = _count_codes(zeros, delta_codes)
    nonzero_codes = _count_codes(nonzeros, delta_codes)
    values_before_pair = np.concatenate(([0], np.cumsum(nonzeros)[:-1]))
    chunk_bounds = np.arange(0, count + _CHUNK_PIXELS, _CHUNK_PIXELS).clip(max=count)
    pair_bounds = np.searchsorted(pair_starts, chunk_bounds)
    words = np.zeros((6 * count + 22 * zeros.size) // 16 + 2, np.uint64)  # never more than this many nibbles
    offset = previous = values_done = 0
    for chunk in range(chunk_bounds.size - 1):
        begin, end = int(chunk_bounds[chunk]), int(chunk_bounds[chunk + 1])
        first_pair, end_pair = int(pair_bounds[chunk]), int(pair_bounds[chunk + 1])
        values = flat[begin:end][nonzero[begin:end]].astype(np.int32)
        if values.size:
            last = int(values[-1])
            values[1:] -= values[:-1].copy()
            values[0] -= previous
            previous = last
        pairs = end_pair - first_pair
        size = 2 * pairs + values.size
        padded = np.empty(size + (-size) % 4, np.uint64)
        padded[size:] = 0  # empty codes (no nibbles) to group the last ones with
        codes = padded[:size]
        if pairs:
            heads = 2 * np.arange(pairs) + (values_before_pair[first_pair:end_pair] - values_done)
            is_value = np.ones(codes.size, bool)
            is_value[heads] = False
            is_value[heads + 1] = False
            codes[is_value] = delta_codes[values]
            codes[heads] = zero_codes[first_pair:end_pair]
            codes[heads + 1] = nonzero_codes[first_pair:end_pair]
        else:
            codes[:] = delta_codes[values]
        values_done += values.size
        if size:
            counts = (padded >> _COUNT_SHIFT).astype(np.uint8)
            padded &= _CODE_MASK
            if not pairable:
                offset = _lay_codes(codes, counts[:size], words, offset)
                continue
            paired, paired_counts = _pair_codes(padded, counts)
            if int(paired_counts.max()) <= 8:  # small deltas only: join again, four codes in one
                paired, paired_counts = _pair_codes(paired, paired_counts)
            offset = _lay_codes(paired, paired_counts, words, offset)
    used = words[: -(-offset // 16)]
    # 64-bit words hold 16 nibbles, first one on top; the plugin's 32-bit little-endian words hold 8 each.
    swapped = (used << _U64(32)) | (used >> _U64(32))
    size = np.array([(width, height)], _RVL_SIZE)
    return size.tobytes() + swapped.tobytes()[: 4 * -(-offset // 8)]


def _rvl_numbers(body: np.ndarray) -> np.ndarray:
    """The varints of an RVL nibble stream (int64), up to the last complete one."""
    if body.size % 4:
        body = np.concatenate((body, np.zeros(4 - body.size % 4, np.uint8)))
    ordered = body.reshape(-1, 4)[:, ::-1].reshape(-1)
    nibbles = np.empty(ordered.size * 2, np.uint8)
    nibbles[0::2] = ordered >> 4
    nibbles[1::2] = ordered & 15
    ends = np.flatnonzero(nibbles < 8)
    if ends.size == 0:
        raise ValueError("malformed RVL image: the stream holds no complete number")
    numbers = np.empty(ends.size, np.int64)
    for first in range(0, ends.size, _CHUNK_PIXELS):
        last = min(first + _CHUNK_PIXELS, ends.size)
        begin = int(ends[first - 1]) + 1 if first else 0
        chunk_ends = ends[first:last] - begin
        span = int(chunk_ends[-1]) + 1
        digit = np.arange(span, dtype=np.int64)  # position of each nibble within its number
        starts = np.zeros(span, np.int64)
        starts[chunk_ends[:-1] + 1] = chunk_ends[:-1] + 1
        np.maximum.accumulate(starts, out=starts)
        digit -= starts
        if int(digit.max()) > 10:
            raise ValueError("malformed RVL image: a number in the stream is longer than 33 bits")
        digit *= 3
        groups = (nibbles[begin : begin + span] & 7).astype(np.int64)
        groups <<= digit
        np.cumsum(groups, out=groups)
        chunk = numbers[first:last]
        chunk[:] = groups[chunk_ends]
        chunk[1:] -= groups[chunk_ends[:-1]]
    return numbers


def rvl_decode(payload: Buffer) -> np.ndarray:
    """uint16 HxW image of an RVL payload (uint32 width, uint32 height, nibble words).

    Raises:
        ValueError: when the size is zero or implausible, or the stream is truncated or describes more
            pixels than width * height.

    """
    raw = _as_bytes(payload)
    if raw.size < _RVL_SIZE.itemsize:
        raise ValueError(f"RVL payload of {raw.size} bytes is too short for its 8-byte width and height")
    size = raw[: _RVL_SIZE.itemsize].view(_RVL_SIZE)[0]
    width, height = int(size["width"]), int(size["height"])
    pixel_count = width * height
    if pixel_count == 0:
        raise ValueError(f"malformed RVL image: size {width}x{height} contains zero")
    if pixel_count > 2**31 - 1:
        raise ValueError(f"malformed RVL image: size {width}x{height} is more than 2**31 - 1 pixels")
    stream = raw[_RVL_SIZE.itemsize :]
    if _native is None:
        return rvl_decode_numpy(stream, width, height)
    pixels = np.empty((height, width), np.uint16)
    _native.decode(stream, pixels, width, height)
    return pixels


def rvl_decode_numpy(stream: np.ndarray, width: int, height: int) -> np.ndarray:
    """The pixels of an RVL nibble stream (what follows the width and height), in numpy.

    The reference of the C decoder, and its fallback.
    """
    pixel_count = width * height
    numbers = _rvl_numbers(stream)
    heads = _rvl_heads(numbers, pixel_count, width, height)
    runs = np.empty(2 * heads.size, np.int64)
    runs[0::2] = numbers[heads]
    runs[1::2] = numbers[heads + 1]
    used = int(heads[-1]) + 2 + int(runs[-1])
    is_value = np.ones(used, bool)
    is_value[heads] = False
    is_value[heads + 1] = False
    zigzag = numbers[:used][is_value]
    deltas = (zigzag >> 1) ^ -(zigzag & 1)
    values = np.cumsum(deltas) & 0xFFFF  # the plugin adds in unsigned 16-bit arithmetic
    pixels = np.zeros(pixel_count, np.uint16)
    nonzero = np.repeat(np.tile(np.array([False, True]), heads.size), runs)
    pixels[nonzero] = values
    return pixels.reshape(height, width)


def _rvl_heads(numbers: np.ndarray, pixel_count: int, width: int, height: int) -> np.ndarray:
    """Indices of the (zeros, non-zeros) pairs in an RVL number stream: one short Python step per pair."""
    count = numbers.size
    if count < 2:
        raise ValueError(f"malformed RVL image: the stream ends before the first of {width}x{height} pixels")
    numbers = numbers.astype(np.int64, copy=False)
    # For every index as if it held a pair: where the next pair starts, and how many pixels this one covers.
    following = np.arange(2, count + 1, dtype=np.int64) + numbers[1:]
    covered = numbers[:-1] + numbers[1:]
    next_head, pixels = following.data, covered.data
    heads: list[int] = []
    append = heads.append
    head = decoded = 0
    while decoded < pixel_count:
        if head >= count - 1:
            raise ValueError(f"malformed RVL image: the stream ends after {decoded} of {width}x{height} pixels")
        append(head)
        decoded += pixels[head]
        head = next_head[head]
    if head > count:
        raise ValueError(f"malformed RVL image: the stream ends after {decoded} of {width}x{height} pixels")
    if decoded != pixel_count:
        raise ValueError(f"malformed RVL image: the stream describes {decoded} pixels, expected {width}x{height}")
    return np.array(heads, np.int64)
