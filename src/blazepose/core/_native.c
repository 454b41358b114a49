/*
 * Optional compiled kernels for blazepose (see blazepose/native.py).
 *
 * warp_to_tensor, for blazepose.core.crop: one pass from a uint8 image to a
 * model's float32 input tensor. For each output pixel it computes the source position as OpenCV 3 and 4's
 * warpPerspective does (double arithmetic, tiles 64 pixels wide, positions
 * rounded to 1/32 pixel), samples it bilinearly with 15-bit integer weights
 * as OpenCV's remap does for 8-bit images (replicated or zero border), and
 * writes the value table's float for the sampled level. The numpy path in
 * crop.py computes the same thing with cv2.remap; the tests hold the two
 * equal bit for bit.
 *
 * refine_with_heatmap, for blazepose.core.landmarks: the heatmap refinement in
 * float arithmetic with the C library's expf, equal to the numpy code.
 *
 * Built with -ffp-contract=off: a fused multiply-add would round the
 * position sums differently.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum {
    POSITION_BITS = 5,
    STEPS = 1 << POSITION_BITS, /* positions per pixel */
    WEIGHT_BITS = 15,
    TILE_WIDTH = 64,
};

static int check_buffer(const Py_buffer *b, const char *name, const char *format, Py_ssize_t itemsize);

/* OpenCV's saturate_cast<int>(double) after clamping to the int range; a NaN
 * ends up at INT_MAX, as with std::min/std::max. */
static int round_to_int(double v)
{
    v = v < (double)INT_MAX ? v : (double)INT_MAX;
    v = (double)INT_MIN < v ? v : (double)INT_MIN;
    return (int)lrint(v);
}

static int saturate_short(int v)
{
    return v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
}

static int clamp_index(int v, int len)
{
    return v < 0 ? 0 : (v < len ? v : len - 1);
}

typedef struct {
    const uint8_t *pixels;
    Py_ssize_t row_step, pixel_step, channel_step; /* strides in bytes */
    int width, height, channels;
    int packed_rgb; /* three channels, one byte apart, pixels three apart */
    int zero_border;
    const float *table; /* 256 levels */
} Source;

static const uint8_t *pixel_at(const Source *src, int x, int y)
{
    return src->pixels + (Py_ssize_t)y * src->row_step + (Py_ssize_t)x * src->pixel_step;
}

/* Level of channel k of a pixel, or 0 for a pixel outside the image (NULL). */
static int level(const Source *src, const uint8_t *p, int k)
{
    return p ? p[k * src->channel_step] : 0;
}

static float to_level(const Source *src, int sum)
{
    return src->table[(sum + (1 << (WEIGHT_BITS - 1))) >> WEIGHT_BITS];
}

/* Samples source pixel (sx, sy) + fraction (fx, fy)/32 into channels floats:
 * whole-image neighbourhoods on the fast path, the rest by border rules. */
static inline void sample(const Source *src, int sx, int sy, int fx, int fy, float *out)
{
    const int w00 = (STEPS - fx) * (STEPS - fy) * 32, w01 = fx * (STEPS - fy) * 32;
    const int w10 = (STEPS - fx) * fy * 32, w11 = fx * fy * 32;
    if ((unsigned)sx < (unsigned)(src->width - 1) && (unsigned)sy < (unsigned)(src->height - 1)) {
        const uint8_t *restrict p00 = pixel_at(src, sx, sy), *restrict p10 = p00 + src->row_step;
        if (src->packed_rgb) { /* the common case, with constant offsets */
            out[0] = to_level(src, p00[0] * w00 + p00[3] * w01 + p10[0] * w10 + p10[3] * w11);
            out[1] = to_level(src, p00[1] * w00 + p00[4] * w01 + p10[1] * w10 + p10[4] * w11);
            out[2] = to_level(src, p00[2] * w00 + p00[5] * w01 + p10[2] * w10 + p10[5] * w11);
            return;
        }
        const Py_ssize_t px = src->pixel_step, ch = src->channel_step;
        for (int k = 0; k < src->channels; k++) {
            const Py_ssize_t c = k * ch;
            out[k] = to_level(src, p00[c] * w00 + p00[c + px] * w01 + p10[c] * w10 + p10[c + px] * w11);
        }
        return;
    }
    const int cn = src->channels;
    const uint8_t *p00, *p01, *p10, *p11;
    if (src->zero_border) {
        if (sx >= src->width || sx + 1 < 0 || sy >= src->height || sy + 1 < 0) {
            for (int k = 0; k < cn; k++)
                out[k] = src->table[0];
            return;
        }
        const int x0_in = (unsigned)sx < (unsigned)src->width, x1_in = (unsigned)(sx + 1) < (unsigned)src->width;
        const int y0_in = (unsigned)sy < (unsigned)src->height, y1_in = (unsigned)(sy + 1) < (unsigned)src->height;
        p00 = x0_in && y0_in ? pixel_at(src, sx, sy) : NULL;
        p01 = x1_in && y0_in ? pixel_at(src, sx + 1, sy) : NULL;
        p10 = x0_in && y1_in ? pixel_at(src, sx, sy + 1) : NULL;
        p11 = x1_in && y1_in ? pixel_at(src, sx + 1, sy + 1) : NULL;
    } else {
        const int x0 = clamp_index(sx, src->width), x1 = clamp_index(sx + 1, src->width);
        const int y0 = clamp_index(sy, src->height), y1 = clamp_index(sy + 1, src->height);
        p00 = pixel_at(src, x0, y0);
        p01 = pixel_at(src, x1, y0);
        p10 = pixel_at(src, x0, y1);
        p11 = pixel_at(src, x1, y1);
    }
    for (int k = 0; k < cn; k++) {
        const int sum = level(src, p00, k) * w00 + level(src, p01, k) * w01 + level(src, p10, k) * w10 +
                        level(src, p11, k) * w11;
        out[k] = to_level(src, sum);
    }
}

/* Reads the source region once, row after row, before the warp walks it
 * across rows: streamed in, the lines arrive at memory bandwidth instead of
 * one memory latency each (the frame is usually not in cache). */
static void touch_region(const Source *src, const double *m, int size)
{
    double lo_x = INFINITY, hi_x = -INFINITY, lo_y = INFINITY, hi_y = -INFINITY;
    for (int corner = 0; corner < 4; corner++) {
        const double u = (corner & 1) ? size : 0, v = (corner & 2) ? size : 0;
        const double w = m[6] * u + m[7] * v + m[8];
        if (!(w > 0.0))
            return; /* not a plain region: skip the hint */
        const double x = (m[0] * u + m[1] * v + m[2]) / w, y = (m[3] * u + m[4] * v + m[5]) / w;
        lo_x = x < lo_x ? x : lo_x;
        hi_x = x > hi_x ? x : hi_x;
        lo_y = y < lo_y ? y : lo_y;
        hi_y = y > hi_y ? y : hi_y;
    }
    const int x0 = lo_x < 0 ? 0 : (lo_x >= src->width ? src->width : (int)lo_x);
    const int x1 = hi_x + 2 > src->width ? src->width : (hi_x + 2 < 0 ? 0 : (int)(hi_x + 2));
    const int y0 = lo_y < 0 ? 0 : (lo_y >= src->height ? src->height : (int)lo_y);
    const int y1 = hi_y + 2 > src->height ? src->height : (hi_y + 2 < 0 ? 0 : (int)(hi_y + 2));
    if (x0 >= x1 || y0 >= y1 || src->pixel_step <= 0)
        return;
    /* One read per cache line, from channel 0 of pixel x0 to that of the
     * region's last pixel, so that every read lies inside the image. */
    unsigned sum = 0;
    const Py_ssize_t first = (Py_ssize_t)x0 * src->pixel_step, last = (Py_ssize_t)(x1 - 1) * src->pixel_step;
    for (int y = y0; y < y1; y++) {
        const volatile uint8_t *row = pixel_at(src, 0, y);
        for (Py_ssize_t x = first; x <= last; x += 64)
            sum += row[x];
    }
    (void)sum;
}

static void warp(const Source *src, const double *m, int size, float *restrict out)
{
    const int cn = src->channels;
    int xs[TILE_WIDTH], ys[TILE_WIDTH];
    for (int y = 0; y < size; y++) {
        for (int start = 0; start < size; start += TILE_WIDTH) {
            const int tile = size - start < TILE_WIDTH ? size - start : TILE_WIDTH;
            const double x_base = m[0] * start + m[1] * y + m[2];
            const double y_base = m[3] * start + m[4] * y + m[5];
            const double w_base = m[6] * start + m[7] * y + m[8];
            for (int i = 0; i < tile; i++) {
                double w = w_base + m[6] * i;
                w = w != 0.0 ? STEPS / w : 0.0;
                xs[i] = round_to_int((x_base + m[0] * i) * w);
                ys[i] = round_to_int((y_base + m[3] * i) * w);
            }
            float *restrict o = out + ((Py_ssize_t)y * size + start) * cn;
            for (int i = 0; i < tile; i++, o += cn) {
                /* Arithmetic shifts and two's-complement masks, as OpenCV. */
                const int sx = saturate_short(xs[i] >> POSITION_BITS), sy = saturate_short(ys[i] >> POSITION_BITS);
                sample(src, sx, sy, xs[i] & (STEPS - 1), ys[i] & (STEPS - 1), o);
            }
        }
    }
}

static int check_buffer(const Py_buffer *b, const char *name, const char *format, Py_ssize_t itemsize)
{
    const char *f = b->format ? b->format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@')
        f++;
    if (b->itemsize != itemsize || strcmp(f, format) != 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected items of format '%s', got '%s'", name, format, b->format);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(warp_doc,
             "warp_to_tensor(image, inverse, size, zero_border, table, out)\n\n"
             "Samples a (H, W, C) uint8 image (any strides) through the 3x3 float64\n"
             "output-to-source map `inverse` into `out`, (size, size, C) float32,\n"
             "mapping levels through the (256,) float32 `table`.");

static PyObject *warp_to_tensor(PyObject *self, PyObject *args)
{
    Py_buffer image = {0}, inverse = {0}, table = {0}, out = {0};
    PyObject *image_obj, *inverse_obj, *table_obj, *out_obj, *result = NULL;
    int size, zero_border;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOipOO", &image_obj, &inverse_obj, &size, &zero_border, &table_obj, &out_obj))
        return NULL;
    if (PyObject_GetBuffer(image_obj, &image, PyBUF_RECORDS_RO) < 0 ||
        PyObject_GetBuffer(inverse_obj, &inverse, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0 ||
        PyObject_GetBuffer(table_obj, &table, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0 ||
        PyObject_GetBuffer(out_obj, &out, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        goto done;
    if (check_buffer(&image, "image", "B", 1) || check_buffer(&inverse, "inverse", "d", 8) ||
        check_buffer(&table, "table", "f", 4) || check_buffer(&out, "out", "f", 4))
        goto done;
    if (image.ndim != 3 || image.shape[2] < 1 || image.shape[2] > 4 || image.shape[0] < 1 || image.shape[1] < 1) {
        PyErr_SetString(PyExc_ValueError, "image: expected a non-empty (H, W, C) array with 1 to 4 channels");
        goto done;
    }
    if (image.shape[0] > INT_MAX / 2 || image.shape[1] > INT_MAX / 8) {
        PyErr_SetString(PyExc_ValueError, "image: too large");
        goto done;
    }
    if (inverse.len != 9 * 8 || table.len != 256 * 4) {
        PyErr_SetString(PyExc_ValueError, "inverse must hold 9 float64 and table 256 float32");
        goto done;
    }
    if (size < 1 || out.len != (Py_ssize_t)size * size * image.shape[2] * 4) {
        PyErr_SetString(PyExc_ValueError, "out must hold size * size * channels float32");
        goto done;
    }
    {
        Source src = {
            .pixels = image.buf,
            .row_step = image.strides[0],
            .pixel_step = image.strides[1],
            .channel_step = image.strides[2],
            .width = (int)image.shape[1],
            .height = (int)image.shape[0],
            .channels = (int)image.shape[2],
            .packed_rgb = image.shape[2] == 3 && image.strides[1] == 3 && image.strides[2] == 1,
            .zero_border = zero_border,
            .table = table.buf,
        };
        const double *m = inverse.buf;
        float *dst = out.buf;
        Py_BEGIN_ALLOW_THREADS
        touch_region(&src, m, size);
        warp(&src, m, size, dst);
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    if (image.obj)
        PyBuffer_Release(&image);
    if (inverse.obj)
        PyBuffer_Release(&inverse);
    if (table.obj)
        PyBuffer_Release(&table);
    if (out.obj)
        PyBuffer_Release(&out);
    return result;
}

/* Heatmap refinement of landmarks.refine_with_heatmap, in float arithmetic. */
static void refine(float *restrict xy, Py_ssize_t n, const float *restrict heatmap, int height, int width,
                   int kernel, float min_confidence)
{
    const int half = (kernel - 1) / 2;
    for (Py_ssize_t i = 0; i < n; i++) {
        const float fc = xy[2 * i] * (float)width, fr = xy[2 * i + 1] * (float)height;
        if (!(fc > -1.0f && fc < (float)width && fr > -1.0f && fr < (float)height))
            continue; /* truncated toward zero, these fall outside the heatmap */
        const int col = (int)fc, row = (int)fr;
        const int top = row - half < 0 ? 0 : row - half, bottom = row + half >= height ? height - 1 : row + half;
        const int left = col - half < 0 ? 0 : col - half, right = col + half >= width ? width - 1 : col + half;
        float total = 0.0f, sum_col = 0.0f, sum_row = 0.0f, best = 0.0f;
        for (int y = top; y <= bottom; y++) {
            for (int x = left; x <= right; x++) {
                const float logit = heatmap[((Py_ssize_t)y * width + x) * n + i];
                const float confidence = 1.0f / (1.0f + expf(-logit));
                total += confidence;
                sum_col += (float)x * confidence;
                sum_row += (float)y * confidence;
                best = confidence > best ? confidence : best;
            }
        }
        if (best >= min_confidence && total > 0.0f) {
            xy[2 * i] = sum_col / (float)width / total;
            xy[2 * i + 1] = sum_row / (float)height / total;
        }
    }
}

static PyObject *refine_with_heatmap(PyObject *self, PyObject *args)
{
    Py_buffer xy = {0}, heatmap = {0};
    PyObject *xy_obj, *heatmap_obj, *result = NULL;
    int kernel;
    float min_confidence;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOif", &xy_obj, &heatmap_obj, &kernel, &min_confidence))
        return NULL;
    if (PyObject_GetBuffer(xy_obj, &xy, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0 ||
        PyObject_GetBuffer(heatmap_obj, &heatmap, PyBUF_RECORDS_RO | PyBUF_C_CONTIGUOUS) < 0)
        goto done;
    if (check_buffer(&xy, "xy", "f", 4) || check_buffer(&heatmap, "heatmap", "f", 4))
        goto done;
    if (heatmap.ndim != 3 || xy.len != heatmap.shape[2] * 2 * 4 || kernel < 1 || heatmap.shape[0] > INT_MAX / 2 ||
        heatmap.shape[1] > INT_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "expected (H, W, N) heatmap, N x 2 positions and a positive kernel");
        goto done;
    }
    {
        float *p = xy.buf;
        const float *h = heatmap.buf;
        const Py_ssize_t n = heatmap.shape[2];
        const int height = (int)heatmap.shape[0], width = (int)heatmap.shape[1];
        Py_BEGIN_ALLOW_THREADS
        refine(p, n, h, height, width, kernel, min_confidence);
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    if (xy.obj)
        PyBuffer_Release(&xy);
    if (heatmap.obj)
        PyBuffer_Release(&heatmap);
    return result;
}

static PyMethodDef methods[] = {
    {"warp_to_tensor", warp_to_tensor, METH_VARARGS, warp_doc},
    {"refine_with_heatmap", refine_with_heatmap, METH_VARARGS,
     "refine_with_heatmap(xy, heatmap, kernel, min_confidence): refines (N, 2) float32 xy in place"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "blazepose.core._native", "Optional compiled kernels for blazepose.", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
    return PyModule_Create(&module);
}
