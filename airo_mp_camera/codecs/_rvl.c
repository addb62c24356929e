/* RVL (Wilson's run-length variable-length depth codec) in C, for compressed_depth.py.
 *
 * The same stream as compressed_depth.rvl_encode / rvl_decode (numpy, the reference these are tested
 * against): uint32 width, uint32 height, then 4-bit nibbles packed eight to a little-endian 32-bit word, the
 * first nibble of a word in its top bits, the last word padded with zero nibbles. The stream alternates
 * (number of zeros, number of non-zeros, each non-zero value as the zigzag of its difference to the previous
 * non-zero value) over the row-major pixels; every number is a base-8 varint, 3 value bits per nibble, bit 3
 * set when another nibble follows.
 *
 * The numpy encoder takes about 27 ms per 720p frame on one core; this loop is sequential by nature and runs in
 * a few milliseconds. Every function releases the GIL while it works, so the bridge's other threads go on.
 *
 *   encode(pixels, width, height, prefix)        -> bytes   prefix + RVL payload of uint16 pixels
 *   encode_inverse_depth(depth, width, height, a, b, depth_max, prefix)
 *                                                -> bytes   the same of float32 metres quantised as
 *                                                           compressed_depth.quantize_inverse_depth does
 *   decode(stream, out, width, height)           -> None    fills out (uint16, width * height) from the
 *                                                           nibble stream after the width and height
 *   dequantize_inverse_depth(quantized, out, a, b) -> None  out (float32) = a / (q - b), NaN where q is 0,
 *                                                           as compressed_depth.dequantize_inverse_depth
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Nibbles are gathered in a 64-bit accumulator from the top down; whenever 8 or more are there, its top 32 bits
 * are a finished word. Stores are unconditional (the output is sized for the worst case) and the pointer moves
 * only when a word is complete, so the loop has no branch on the data. */
typedef struct {
    uint8_t *out;  /* where the next finished word goes */
    uint64_t bits; /* pending nibbles, the first at bit 63 */
    unsigned used; /* pending bits (< 32 between calls) */
} Writer;

static inline void store_le32(uint8_t *out, uint32_t word) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    word = __builtin_bswap32(word);
#endif
    memcpy(out, &word, sizeof word);
}

/* Varint codes of the numbers below 4096 (at most 4 nibbles: most deltas of real depth): nibbles in stream
 * order in the low bits, the first the most significant, and the nibble count in bits 24-31. */
#define TABLE_SIZE 4096
static uint32_t code_table[TABLE_SIZE];

static inline uint64_t varint_code(uint64_t number, unsigned *nibbles) {
    uint64_t code = 0;
    unsigned count = 0;
    do {
        uint64_t nibble = number & 7;
        number >>= 3;
        if (number) nibble |= 8;
        code = code << 4 | nibble;
        count++;
    } while (number);
    *nibbles = count;
    return code;
}

static void fill_code_table(void) {
    for (uint32_t number = 0; number < TABLE_SIZE; number++) {
        unsigned nibbles;
        uint64_t code = varint_code(number, &nibbles);
        code_table[number] = (uint32_t)code | (uint32_t)nibbles << 24;
    }
}

/* Appends `nibbles` (1 to 8) nibbles of `code`. */
static inline void put_code(Writer *w, uint64_t code, unsigned nibbles) {
    w->bits |= code << (64 - w->used - 4 * nibbles);
    w->used += 4 * nibbles;
    store_le32(w->out, (uint32_t)(w->bits >> 32));
    unsigned full = (w->used >> 5) << 5; /* 32 when a word is complete, else 0 */
    w->out += full >> 3;
    w->bits = full ? w->bits << 32 : w->bits;
    w->used -= full;
}

/* Appends the varint of `number` (below 2**33: at most 11 nibbles). */
static inline void put(Writer *w, uint64_t number) {
    if (number < TABLE_SIZE) {
        uint32_t entry = code_table[number];
        put_code(w, entry & 0xFFFFFF, entry >> 24);
        return;
    }
    unsigned nibbles;
    uint64_t code = varint_code(number, &nibbles);
    if (nibbles > 8) { /* run lengths of 2**24 pixels and more */
        put_code(w, code >> 32, nibbles - 8);
        code &= 0xFFFFFFFFu;
        nibbles = 8;
    }
    put_code(w, code, nibbles);
}

static void flush(Writer *w) {
    if (w->used) { /* the last word, padded with zero nibbles */
        store_le32(w->out, (uint32_t)(w->bits >> 32));
        w->out += 4;
    }
}

/* Encodes n pixels (n > 0) after the width and height; returns the end of what was written. */
static uint8_t *encode_pixels(const uint16_t *pixels, size_t n, uint32_t width, uint32_t height, uint8_t *out) {
    store_le32(out, width);
    store_le32(out + 4, height);
    Writer w = {out + 8, 0, 0};
    size_t i = 0;
    int32_t previous = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && pixels[i] == 0) i++;
        put(&w, i - start);
        start = i;
        while (i < n && pixels[i] != 0) i++;
        put(&w, i - start);
        size_t j = start;
        for (; j + 1 < i; j += 2) { /* two values at a time: one append for both when both are in the table */
            int32_t first = pixels[j], second = pixels[j + 1];
            int32_t delta0 = first - previous, delta1 = second - first;
            previous = second;
            uint32_t zigzag0 = (uint32_t)((delta0 << 1) ^ (delta0 >> 31));
            uint32_t zigzag1 = (uint32_t)((delta1 << 1) ^ (delta1 >> 31));
            if ((zigzag0 | zigzag1) < TABLE_SIZE) {
                uint32_t entry0 = code_table[zigzag0], entry1 = code_table[zigzag1];
                unsigned nibbles1 = entry1 >> 24;
                uint64_t code = (uint64_t)(entry0 & 0xFFFFFF) << (4 * nibbles1) | (entry1 & 0xFFFFFF);
                put_code(&w, code, (entry0 >> 24) + nibbles1);
            } else {
                put(&w, zigzag0);
                put(&w, zigzag1);
            }
        }
        if (j < i) {
            int32_t value = pixels[j];
            int32_t delta = value - previous;
            previous = value;
            put(&w, (uint32_t)((delta << 1) ^ (delta >> 31)));
        }
    }
    flush(&w);
    return w.out;
}

/* Bytes an RVL payload of n pixels can take at most: 6 nibbles per value (17-bit zigzag), 11 per run length,
 * at most n + 2 run lengths, plus the width, the height and a padded last word. */
static size_t worst_case_size(size_t n) { return 8 + ((6 * n + 11 * (n + 2)) / 8 + 1) * 4; }

static int check_size(Py_ssize_t length, Py_ssize_t item, unsigned long width, unsigned long height) {
    if (width == 0 || height == 0 || width > 0xFFFFFFFFul || height > 0xFFFFFFFFul ||
        (unsigned long long)width * height > (unsigned long long)PY_SSIZE_T_MAX / 32) {
        PyErr_Format(PyExc_ValueError, "RVL cannot encode a %lux%lu image", width, height);
        return -1;
    }
    if ((unsigned long long)length != (unsigned long long)width * height * (unsigned long long)item) {
        PyErr_Format(PyExc_ValueError, "RVL buffer of %zd bytes does not hold %lux%lu pixels of %zd bytes", length,
                     width, height, item);
        return -1;
    }
    return 0;
}

/* prefix + the encoding of n pixels in a new bytes object; `quantize` (if not NULL) first fills `pixels`. */
typedef void (*Quantizer)(const void *source, uint16_t *pixels, size_t n, const float *parameters);

static PyObject *encode_into_bytes(const uint16_t *pixels, size_t n, unsigned long width, unsigned long height,
                                   const Py_buffer *prefix, Quantizer quantize, const void *source,
                                   const float *parameters) {
    Py_ssize_t capacity = prefix->len + (Py_ssize_t)worst_case_size(n);
    PyObject *result = PyBytes_FromStringAndSize(NULL, capacity);
    if (result == NULL) return NULL;
    uint8_t *start = (uint8_t *)PyBytes_AS_STRING(result);
    uint8_t *end;
    memcpy(start, prefix->buf, (size_t)prefix->len);
    Py_BEGIN_ALLOW_THREADS
    if (quantize != NULL) quantize(source, (uint16_t *)pixels, n, parameters);
    end = encode_pixels(pixels, n, (uint32_t)width, (uint32_t)height, start + prefix->len);
    Py_END_ALLOW_THREADS
    if (_PyBytes_Resize(&result, end - start) < 0) return NULL;
    return result;
}

static PyObject *rvl_encode(PyObject *self, PyObject *args) {
    Py_buffer pixels, prefix;
    unsigned long width, height;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*kky*", &pixels, &width, &height, &prefix)) return NULL;
    PyObject *result = NULL;
    if (check_size(pixels.len, 2, width, height) == 0)
        result = encode_into_bytes((const uint16_t *)pixels.buf, (size_t)width * height, width, height, &prefix,
                                   NULL, NULL, NULL);
    PyBuffer_Release(&pixels);
    PyBuffer_Release(&prefix);
    return result;
}

/* q = trunc(float32(a / d) + b) for 0 < d < depth_max and q < 65536, else 0: float32 arithmetic throughout, as
 * numpy computes compressed_depth.quantize_inverse_depth (built with -ffp-contract=off: no fused operations). */
static void quantize_inverse_depth(const void *source, uint16_t *pixels, size_t n, const float *parameters) {
    const float *depth = (const float *)source;
    const float a = parameters[0], b = parameters[1], depth_max = parameters[2];
    for (size_t i = 0; i < n; i++) {
        float d = depth[i];
        float q = a / d;
        q = q + b;
        int valid = (d > 0.0f) & (d < depth_max) & (q >= 0.0f) & (q < 65536.0f);
        pixels[i] = (uint16_t)(int32_t)(valid ? q : 0.0f);
    }
}

static PyObject *rvl_encode_inverse_depth(PyObject *self, PyObject *args) {
    Py_buffer depth, prefix;
    unsigned long width, height;
    float parameters[3];
    (void)self;
    if (!PyArg_ParseTuple(args, "y*kkfffy*", &depth, &width, &height, &parameters[0], &parameters[1],
                          &parameters[2], &prefix))
        return NULL;
    PyObject *result = NULL;
    if (check_size(depth.len, 4, width, height) == 0) {
        size_t n = (size_t)width * height;
        uint16_t *pixels = (uint16_t *)malloc(n * sizeof(uint16_t));
        if (pixels == NULL)
            PyErr_NoMemory();
        else
            result = encode_into_bytes(pixels, n, width, height, &prefix, quantize_inverse_depth, depth.buf,
                                       parameters);
        free(pixels);
    }
    PyBuffer_Release(&depth);
    PyBuffer_Release(&prefix);
    return result;
}

typedef struct {
    const uint8_t *in;
    size_t length;  /* bytes of the stream */
    size_t nibbles; /* in the stream, its last word padded with zero nibbles */
    size_t next;    /* index of the next nibble */
} Reader;

static inline unsigned nibble_at(const Reader *r, size_t k) {
    size_t byte = (k / 8) * 4 + 3 - (k % 8) / 2;
    unsigned value = byte < r->length ? r->in[byte] : 0;
    return k % 2 ? value & 15 : value >> 4;
}

enum { NUMBER = 0, STREAM_ENDED = 1, TOO_LONG = 2 };

/* Reads one varint; a number cut short by the end of the stream counts as the stream's end. */
static inline int get(Reader *r, uint64_t *number) {
    uint64_t value = 0;
    for (int digit = 0; digit < 11; digit++) {
        if (r->next >= r->nibbles) return STREAM_ENDED;
        unsigned nibble = nibble_at(r, r->next++);
        value |= (uint64_t)(nibble & 7) << (3 * digit);
        if (!(nibble & 8)) {
            *number = value;
            return NUMBER;
        }
    }
    return TOO_LONG;
}

/* Whether a nibble below 8 (the end of a number) lies anywhere in the stream. */
static int any_number_ends(const Reader *r) {
    for (size_t k = 0; k < r->nibbles; k++)
        if (nibble_at(r, k) < 8) return 1;
    return 0;
}

typedef struct {
    int status;         /* NUMBER (decoded), STREAM_ENDED, TOO_LONG, TOO_MANY, NO_NUMBER */
    uint64_t described; /* pixels described so far */
} DecodeResult;

enum { TOO_MANY = 3, NO_NUMBER = 4 };

static DecodeResult decode_stream(const uint8_t *in, size_t length, uint16_t *pixels, uint64_t n) {
    Reader r = {in, length, (length + 3) / 4 * 8, 0};
    DecodeResult result = {NUMBER, 0};
    uint64_t zeros, nonzeros, number;
    uint16_t previous = 0;
    int status = NUMBER;
    while (result.described < n) {
        if ((status = get(&r, &zeros)) != NUMBER) break;
        if ((status = get(&r, &nonzeros)) != NUMBER) break;
        if (zeros + nonzeros > n - result.described) {
            result.status = TOO_MANY;
            result.described += zeros + nonzeros;
            return result;
        }
        memset(pixels + result.described, 0, zeros * sizeof(uint16_t));
        result.described += zeros;
        uint16_t *out = pixels + result.described;
        for (uint64_t j = 0; j < nonzeros && status == NUMBER; j++) {
            if ((status = get(&r, &number)) == NUMBER) {
                uint64_t delta = (number >> 1) ^ (0 - (number & 1));
                previous = (uint16_t)(previous + (uint16_t)delta); /* unsigned 16-bit arithmetic, as the plugin */
                out[j] = previous;
            }
        }
        if (status != NUMBER) break;
        result.described += nonzeros;
    }
    /* Like the numpy decoder: a stream in which no number ends at all is reported as such. */
    if (status != NUMBER && result.described == 0 && !any_number_ends(&r)) status = NO_NUMBER;
    result.status = status;
    return result;
}

static PyObject *rvl_decode(PyObject *self, PyObject *args) {
    Py_buffer stream, out;
    unsigned long width, height;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*w*kk", &stream, &out, &width, &height)) return NULL;
    PyObject *result = NULL;
    uint64_t n = (uint64_t)width * height;
    if ((uint64_t)out.len != n * 2) {
        PyErr_Format(PyExc_ValueError, "RVL output buffer of %zd bytes does not hold %lux%lu uint16 pixels", out.len,
                     width, height);
    } else {
        DecodeResult decoded;
        Py_BEGIN_ALLOW_THREADS
        decoded = decode_stream((const uint8_t *)stream.buf, (size_t)stream.len, (uint16_t *)out.buf, n);
        Py_END_ALLOW_THREADS
        switch (decoded.status) {
        case NUMBER:
            result = Py_None;
            Py_INCREF(result);
            break;
        case STREAM_ENDED:
            PyErr_Format(PyExc_ValueError, "malformed RVL image: the stream ends after %llu of %lux%lu pixels",
                         (unsigned long long)decoded.described, width, height);
            break;
        case TOO_LONG:
            PyErr_SetString(PyExc_ValueError, "malformed RVL image: a number in the stream is longer than 33 bits");
            break;
        case NO_NUMBER:
            PyErr_SetString(PyExc_ValueError, "malformed RVL image: the stream holds no complete number");
            break;
        default:
            PyErr_Format(PyExc_ValueError, "malformed RVL image: the stream describes %llu pixels, expected %lux%lu",
                         (unsigned long long)decoded.described, width, height);
        }
    }
    PyBuffer_Release(&stream);
    PyBuffer_Release(&out);
    return result;
}

static void dequantize(const uint16_t *restrict in, float *restrict depth, size_t n, float a, float b) {
    const float not_a_number = NAN;
    uint32_t nan_bits;
    memcpy(&nan_bits, &not_a_number, sizeof nan_bits);
    for (size_t i = 0; i < n; i++) { /* selecting bits, not floats: the compiler then vectorises the loop */
        float step = (float)in[i] - b; /* float32 throughout, as numpy computes it */
        float value = a / step;
        uint32_t bits, valid = 0u - (uint32_t)(in[i] != 0);
        memcpy(&bits, &value, sizeof bits);
        bits = (bits & valid) | (nan_bits & ~valid);
        memcpy(&depth[i], &bits, sizeof bits);
    }
}

static PyObject *rvl_dequantize_inverse_depth(PyObject *self, PyObject *args) {
    Py_buffer quantized, out;
    float a, b;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*w*ff", &quantized, &out, &a, &b)) return NULL;
    PyObject *result = NULL;
    if (quantized.len % 2 != 0 || out.len != quantized.len * 2) {
        PyErr_Format(PyExc_ValueError, "dequantize: %zd bytes of uint16 do not fill %zd bytes of float32",
                     quantized.len, out.len);
    } else {
        const uint16_t *in = (const uint16_t *)quantized.buf;
        float *depth = (float *)out.buf;
        size_t n = (size_t)quantized.len / 2;
        Py_BEGIN_ALLOW_THREADS
        dequantize(in, depth, n, a, b);
        Py_END_ALLOW_THREADS
        result = Py_None;
        Py_INCREF(result);
    }
    PyBuffer_Release(&quantized);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", rvl_encode, METH_VARARGS,
     "encode(pixels, width, height, prefix) -> bytes: prefix + RVL payload of C-ordered uint16 pixels."},
    {"encode_inverse_depth", rvl_encode_inverse_depth, METH_VARARGS,
     "encode_inverse_depth(depth, width, height, a, b, depth_max, prefix) -> bytes: the same of float32 metres "
     "quantised as inverse depth (0 where invalid)."},
    {"decode", rvl_decode, METH_VARARGS,
     "decode(stream, out, width, height) -> None: fills the uint16 buffer out from the nibble stream that follows "
     "an RVL payload's width and height; ValueError names what is malformed."},
    {"dequantize_inverse_depth", rvl_dequantize_inverse_depth, METH_VARARGS,
     "dequantize_inverse_depth(quantized, out, a, b) -> None: float32 metres a / (q - b) of uint16 inverse depth, "
     "NaN where q is 0."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rvl", "RVL depth codec in C.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__rvl(void) {
    fill_code_table();
    return PyModule_Create(&module);
}
