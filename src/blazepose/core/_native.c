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
 * float arithmetic with the C library's expf, equal to the numpy code; and
 * decode_pose_in_region, all of landmarks.decode_pose in one call.
 *
 * smoother_step, for blazepose.core.filters: a One Euro filter step (and a visibility low-pass) in the
 * numpy code's double and float steps; alignment_rect, for blazepose.core.roi.
 *
 * On x86-64 CPUs with AVX2 (checked at run time) warp_to_tensor computes
 * four source positions and samples eight pixels at a time (warp_avx2): the
 * same IEEE double operations in the same order, the same integer sums, so
 * the same bits as the scalar code, which stays for other CPUs and for the
 * pixels near the image's border. The float and double steps of every
 * kernel are written one operation at a time, in the numpy code's order.
 *
 * Built with -ffp-contract=off: a fused multiply-add would round the
 * position sums differently (and the AVX2 code asks for no FMA).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#define HAVE_THREADS 1
#include <pthread.h>
#else
#define HAVE_THREADS 0
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_AVX2_PATH 1
#include <immintrin.h>
#else
#define HAVE_AVX2_PATH 0
#endif

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
    float scale;        /* nonzero when table[k] == (float)k * scale for every level */
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

/* Inlined wherever it is called, so that warp_avx2 gets a copy in VEX encoding: called there as a
 * function of legacy SSE code while the upper halves of the ymm registers are in use, every call
 * paid an SSE/AVX transition on Intel CPUs (a crop of a region mostly outside the image, as the
 * detector's letterbox, took 3.1 instead of 0.5 ms). */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Samples source pixel (sx, sy) + fraction (fx, fy)/32 into channels floats:
 * whole-image neighbourhoods on the fast path, the rest by border rules. */
static ALWAYS_INLINE void sample(const Source *src, int sx, int sy, int fx, int fy, float *out)
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

/* Source point of output pixel (u, v); false where the map sends it to infinity, behind or nowhere (NaN). */
static int source_point(const double *m, double u, double v, double *x, double *y)
{
    const double w = m[6] * u + m[7] * v + m[8];
    if (!(w > 0.0))
        return 0;
    *x = (m[0] * u + m[1] * v + m[2]) / w;
    *y = (m[3] * u + m[4] * v + m[5]) / w;
    return isfinite(*x) && isfinite(*y);
}

/* A prefetch the compiler keeps: GCC counts __builtin_prefetch as free of side effects, and where it may
 * assume that a loop ends (without -fwrapv, which CPython's own flags add) it drops a loop that only
 * prefetches as dead code. An asm statement marked volatile is never dropped. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define PREFETCH(p) __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)(p)))
#elif defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* Asks for the source lines that output row v samples, both source rows, at points PREFETCH_SPACING pixels
 * apart along the row's segment in the source (closer than the 21 pixels of a cache line), without waiting
 * for them. The warps ask PREFETCH_AHEAD rows ahead of the row they compute, so that the lines of a frame
 * not in cache arrive while the rows before are computed; only for turned regions, whose rows cross the
 * source's rows (an upright crop reads the frame forwards, which the hardware prefetches itself). A hint:
 * no value depends on it. */
enum { PREFETCH_AHEAD = 4, PREFETCH_SPACING = 8 };

static void prefetch_row(const Source *src, const double *m, int size, int v)
{
    double x0, y0, x1, y1;
    if (!source_point(m, 0, v, &x0, &y0) || !source_point(m, size, v, &x1, &y1))
        return;
    const double length = fabs(x1 - x0) + fabs(y1 - y0);
    if (!(length < 1e5)) /* a region far larger than any frame: no hint */
        return;
    const int points = (int)(length / PREFETCH_SPACING) + 1;
    const double dx = (x1 - x0) / points, dy = (y1 - y0) / points;
    uintptr_t last_line = 0;
    for (int k = 0; k <= points; k++) { /* along the segment (the map of a rectangle's crop is affine) */
        const double x = x0 + dx * k, y = y0 + dy * k;
        if (!(x >= 0.0 && y >= 0.0 && x < src->width - 1 && y < src->height - 1))
            continue;
        const uint8_t *p = pixel_at(src, (int)x, (int)y);
        if ((uintptr_t)p >> 6 == last_line)
            continue; /* the line of the point before */
        last_line = (uintptr_t)p >> 6;
        PREFETCH(p);
        PREFETCH(p + src->row_step);
    }
}

/* Whether output rows cross the source's rows: a turned (or sheared) region. */
static int turned(const double *m)
{
    return m[1] != 0.0 || m[3] != 0.0;
}

/* Before output row y of rows first..last-1: the rows PREFETCH_AHEAD on (and, at the first row, the
 * ones before them). */
static void prefetch_ahead(const Source *src, const double *m, int size, int y, int first_row, int last_row)
{
    for (int v = y == first_row ? y : y + PREFETCH_AHEAD; v <= y + PREFETCH_AHEAD && v < last_row; v++)
        prefetch_row(src, m, size, v);
}

/* Output rows first..last-1 of the size x size crop. */
static void warp(const Source *src, const double *m, int size, int first_row, int last_row, float *restrict out)
{
    const int cn = src->channels, ahead = turned(m);
    int xs[TILE_WIDTH], ys[TILE_WIDTH];
    for (int y = first_row; y < last_row; y++) {
        if (ahead)
            prefetch_ahead(src, m, size, y, first_row, last_row);
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

#if HAVE_AVX2_PATH
/* Source positions of pixels first..last-1 of a tile row, four at a time:
 * warp's double arithmetic lane by lane (no FMA), the clamp as round_to_int
 * (a NaN ends up at INT_MAX: min_pd returns its second operand for a NaN),
 * and the conversion in the default round-to-nearest-even mode, as lrint. */
__attribute__((target("avx2"))) static int positions_avx2(const double *m, double x_base, double y_base,
                                                          double w_base, int count, int *xs, int *ys)
{
    const __m256d steps = _mm256_set1_pd(STEPS), zero = _mm256_setzero_pd();
    const __m256d hi = _mm256_set1_pd((double)INT_MAX), lo = _mm256_set1_pd((double)INT_MIN);
    const __m256d m0 = _mm256_set1_pd(m[0]), m3 = _mm256_set1_pd(m[3]), m6 = _mm256_set1_pd(m[6]);
    const __m256d xb = _mm256_set1_pd(x_base), yb = _mm256_set1_pd(y_base), wb = _mm256_set1_pd(w_base);
    int i = 0;
    for (; i + 4 <= count; i += 4) {
        const __m256d at = _mm256_set_pd(i + 3, i + 2, i + 1, i);
        const __m256d w = _mm256_add_pd(wb, _mm256_mul_pd(m6, at));
        const __m256d nonzero = _mm256_cmp_pd(w, zero, _CMP_NEQ_UQ);
        const __m256d inv = _mm256_and_pd(_mm256_div_pd(steps, w), nonzero);
        __m256d x = _mm256_mul_pd(_mm256_add_pd(xb, _mm256_mul_pd(m0, at)), inv);
        __m256d y = _mm256_mul_pd(_mm256_add_pd(yb, _mm256_mul_pd(m3, at)), inv);
        x = _mm256_max_pd(_mm256_min_pd(x, hi), lo);
        y = _mm256_max_pd(_mm256_min_pd(y, hi), lo);
        _mm_storeu_si128((__m128i *)(xs + i), _mm256_cvtpd_epi32(x));
        _mm_storeu_si128((__m128i *)(ys + i), _mm256_cvtpd_epi32(y));
    }
    return i;
}

/* A pixel's two source rows for sample8_inside: eight bytes of the top row from its top-left neighbour on,
 * then eight of the bottom row from two bytes before its bottom-left neighbour. */
__attribute__((target("avx2"))) static inline __m128i source_rows(const uint8_t *top, const uint8_t *bottom_less_2,
                                                                  int offset)
{
    return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(top + offset)),
                              _mm_loadl_epi64((const __m128i *)(bottom_less_2 + offset)));
}

/* Eight pixels whose neighbourhoods all lie inside the image, two to a register: each pixel's top source
 * row and bottom source row as eight bytes each (the top from its first neighbour on, the bottom from two
 * bytes before it, so that neither load reaches past the image's last pixel), the channels' neighbour pairs
 * picked into byte pairs, weighted across (left x (32 - fx) + right x fx, at most 8160: one 16-bit
 * multiply-add of bytes) and then down (top x (32 - fy) + bottom x fy: one of words). That is the sum
 * of sample()'s four products with their common factor 32 taken out, the same integers, so the level
 * (sum + 512) >> 10 is sample()'s (sum x 32 + 2^14) >> 15. Plain loads rather than AVX2 gathers: on a
 * frame not in cache they overlapped their misses far better (0.34 against 0.59 ms per 256x256 crop of a
 * 720p frame, measured on the earlier four-byte loads). `at` holds the top-left neighbours' byte offsets,
 * fx and fy the fractions. */
__attribute__((target("avx2"))) static inline void sample8_inside(const Source *src, const uint8_t *top,
                                                                   const uint8_t *bottom_less_2, __m256i at,
                                                                   __m256i fx, __m256i fy, float *o)
{
    const __m256i full = _mm256_set1_epi32(STEPS);
    /* Per 32-bit lane: the across weights as bytes (32 - fx, fx, 32 - fx, fx), the down weights as words. */
    __m256i across = _mm256_or_si256(_mm256_sub_epi32(full, fx), _mm256_slli_epi32(fx, 8));
    across = _mm256_or_si256(across, _mm256_slli_epi32(across, 16));
    const __m256i down = _mm256_or_si256(_mm256_sub_epi32(full, fy), _mm256_slli_epi32(fy, 16));
    /* Bytes 0-7 the top row (r g b of the left neighbour, then the right's), 8-15 the bottom row shifted by
     * two; each channel's top pair, then its bottom pair, and four zeros. */
    const __m256i pick = _mm256_setr_epi8(0, 3, 10, 13, 1, 4, 11, 14, 2, 5, 12, 15, -1, -1, -1, -1, 0, 3, 10, 13,
                                          1, 4, 11, 14, 2, 5, 12, 15, -1, -1, -1, -1);
    const __m256i half = _mm256_set1_epi32(1 << (WEIGHT_BITS - 6));
    int offsets[8];
    _mm256_storeu_si256((__m256i *)offsets, at);
    for (int j = 0; j < 8; j += 2) {
        const __m256i both = _mm256_inserti128_si256(
            _mm256_castsi128_si256(source_rows(top, bottom_less_2, offsets[j])),
            source_rows(top, bottom_less_2, offsets[j + 1]), 1);
        const __m256i pairs = _mm256_shuffle_epi8(both, pick);
        const __m256i lane = _mm256_setr_epi32(j, j, j, j, j + 1, j + 1, j + 1, j + 1);
        const __m256i across_sums = _mm256_maddubs_epi16(pairs, _mm256_permutevar8x32_epi32(across, lane));
        const __m256i sums = _mm256_madd_epi16(across_sums, _mm256_permutevar8x32_epi32(down, lane));
        const __m256i lv = _mm256_srli_epi32(_mm256_add_epi32(sums, half), WEIGHT_BITS - 5);
        const __m256 values = src->scale != 0.0f
                                  ? _mm256_mul_ps(_mm256_cvtepi32_ps(lv), _mm256_set1_ps(src->scale))
                                  : _mm256_i32gather_ps(src->table, lv, 4);
        /* r g b r' g' b' and two values the next pair's store overwrites; the last pair stores its six only. */
        const __m256 packed = _mm256_permutevar8x32_ps(values, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7));
        if (j < 6)
            _mm256_storeu_ps(o + 3 * j, packed);
        else
            _mm256_maskstore_ps(o + 3 * j, _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0), packed);
    }
}

/* warp for packed RGB whose byte offsets fit an int (see avx2_fits): eight
 * pixels at a time where all eight neighbourhoods lie inside the image, the
 * scalar sample elsewhere. */
__attribute__((target("avx2"))) static void warp_avx2(const Source *src, const double *m, int size, int first_row,
                                                      int last_row, float *restrict out)
{
    int xs[TILE_WIDTH], ys[TILE_WIDTH];
    const uint8_t *row0 = src->pixels, *row1 = src->pixels + src->row_step;
    const __m256i mask = _mm256_set1_epi32(STEPS - 1);
    const __m256i last_x = _mm256_set1_epi32(src->width - 1), last_y = _mm256_set1_epi32(src->height - 1);
    const __m256i row_step = _mm256_set1_epi32((int)src->row_step), three = _mm256_set1_epi32(3);
    const __m256i minus_one = _mm256_set1_epi32(-1);
    const __m256i short_lo = _mm256_set1_epi32(-32768), short_hi = _mm256_set1_epi32(32767);
    const int ahead = turned(m);
    for (int y = first_row; y < last_row; y++) {
        if (ahead)
            prefetch_ahead(src, m, size, y, first_row, last_row);
        for (int start = 0; start < size; start += TILE_WIDTH) {
            const int tile = size - start < TILE_WIDTH ? size - start : TILE_WIDTH;
            const double x_base = m[0] * start + m[1] * y + m[2];
            const double y_base = m[3] * start + m[4] * y + m[5];
            const double w_base = m[6] * start + m[7] * y + m[8];
            for (int i = positions_avx2(m, x_base, y_base, w_base, tile, xs, ys); i < tile; i++) {
                double w = w_base + m[6] * i;
                w = w != 0.0 ? STEPS / w : 0.0;
                xs[i] = round_to_int((x_base + m[0] * i) * w);
                ys[i] = round_to_int((y_base + m[3] * i) * w);
            }
            float *restrict o = out + ((Py_ssize_t)y * size + start) * 3;
            int i = 0;
            for (; i + 8 <= tile; i += 8, o += 24) {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(xs + i));
                const __m256i yy = _mm256_loadu_si256((const __m256i *)(ys + i));
                const __m256i sx = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(x, POSITION_BITS), short_lo), short_hi);
                const __m256i sy = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(yy, POSITION_BITS), short_lo), short_hi);
                const __m256i inside = _mm256_and_si256(
                    _mm256_and_si256(_mm256_cmpgt_epi32(sx, minus_one), _mm256_cmpgt_epi32(last_x, sx)),
                    _mm256_and_si256(_mm256_cmpgt_epi32(sy, minus_one), _mm256_cmpgt_epi32(last_y, sy)));
                if (_mm256_movemask_epi8(inside) != -1) {
                    if (src->zero_border) { /* all eight wholly outside (a letterbox's padding): table[0] each */
                        const __m256i outside = _mm256_or_si256(
                            _mm256_or_si256(_mm256_cmpgt_epi32(sx, last_x), _mm256_cmpgt_epi32(minus_one, sx)),
                            _mm256_or_si256(_mm256_cmpgt_epi32(sy, last_y), _mm256_cmpgt_epi32(minus_one, sy)));
                        if (_mm256_movemask_epi8(outside) == -1) {
                            const __m256 background = _mm256_set1_ps(src->table[0]);
                            _mm256_storeu_ps(o, background);
                            _mm256_storeu_ps(o + 8, background);
                            _mm256_storeu_ps(o + 16, background);
                            continue;
                        }
                    }
                    for (int j = 0; j < 8; j++) {
                        const int px = xs[i + j], py = ys[i + j];
                        sample(src, saturate_short(px >> POSITION_BITS), saturate_short(py >> POSITION_BITS),
                               px & (STEPS - 1), py & (STEPS - 1), o + 3 * j);
                    }
                    continue;
                }
                const __m256i at = _mm256_add_epi32(_mm256_mullo_epi32(sy, row_step), _mm256_mullo_epi32(sx, three));
                sample8_inside(src, row0, row1 - 2, at, _mm256_and_si256(x, mask), _mm256_and_si256(yy, mask), o);
            }
            for (; i < tile; i++, o += 3) {
                const int px = xs[i], py = ys[i];
                sample(src, saturate_short(px >> POSITION_BITS), saturate_short(py >> POSITION_BITS),
                       px & (STEPS - 1), py & (STEPS - 1), o);
            }
        }
    }
}
#endif

/* Whether the AVX2 path can take this source: packed RGB, rows going down and holding their pixels (rows no
 * shorter than their pixels' bytes: sample8_inside's eight-byte loads stay between a neighbourhood's first
 * row and its last pixel), and every byte offset in the image within an int. */
static int avx2_fits(const Source *src)
{
    return src->packed_rgb && src->row_step >= (Py_ssize_t)src->width * 3 &&
           (Py_ssize_t)src->height * src->row_step < (Py_ssize_t)INT_MAX;
}

static int cpu_has_avx2(void)
{
#if HAVE_AVX2_PATH
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return known;
#else
    return 0;
#endif
}

/* One band of output rows for one thread: its part of the source read ahead, then warped. */
typedef struct {
    const Source *src;
    const double *m;
    int size, first_row, last_row, vectorised;
    float *out;
} Band;

static void *warp_band(void *arg)
{
    const Band *b = arg;
#if HAVE_AVX2_PATH
    if (b->vectorised) {
        warp_avx2(b->src, b->m, b->size, b->first_row, b->last_row, b->out);
        return NULL;
    }
#endif
    warp(b->src, b->m, b->size, b->first_row, b->last_row, b->out);
    return NULL;
}

enum {
    MIN_BAND_ROWS = 32, /* a crop is split only into bands of at least this many rows */
    MAX_BANDS = 8       /* and into at most this many (the calling thread and up to 7 helpers) */
};

/* CropHelpers: threads kept for the crop's bands, so that a crop does not pay for starting threads (about
 * 40 us each on a virtual machine, as much as a small crop's band). A helper that has nothing to do sleeps
 * on a condition variable; wake() has the helpers wait spinning for a short while instead, so that a crop
 * that follows soon finds them running (waking a sleeping thread, and the idle CPU under it, costs tens of
 * microseconds too). They spin on plain loads, without the pause instruction: hypervisors deschedule a
 * virtual CPU that pauses in a loop. Bands are claimed through one atomic word (job, next band, bands), so
 * the caller takes the bands no helper has claimed yet: a late helper costs nothing but its band, and a
 * crop never waits for a helper that has not started. One crop at a time: a second caller meanwhile runs its
 * crop alone, with the same bits. A forked child inherits none of the threads: its first crop or wake()
 * forgets the parent's state (a crop the parent had under way included) and starts its own. */
#if HAVE_THREADS
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

enum { MESSAGE_WAKE = 1, MESSAGE_WORK = 2, MESSAGE_EXIT = 3 }; /* the low two bits of a message */
static const int64_t WAKE_SPIN_NS = 500000; /* how long a woken helper spins waiting for a crop */
static const int64_t DONE_SPIN_NS = 50000;  /* how long the caller spins waiting for the helpers' bands */

typedef struct {
    PyObject_HEAD
    int threads;  /* bands per crop at most: the calling thread and threads - 1 helpers */
    atomic_int started; /* helpers running */
    atomic_int closed;  /* set first by close(): crops that begin after it run alone */
    pid_t owner;        /* the process whose helpers these are (a forked child has none until it starts its own) */
    uint_fast64_t first_seen; /* the message before a helper started (what it need not act on) */
    uint32_t jobs;
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* helpers asleep wait on it */
    pthread_cond_t finished; /* the caller asleep waits on it */
    pthread_t ids[MAX_BANDS - 1];
    atomic_uint_fast64_t message; /* a sequence number << 2 | what */
    atomic_uint_fast64_t claim;   /* job << 32 | next band << 16 | bands */
    atomic_int done;              /* bands of the current job finished */
    atomic_int sleepers;          /* helpers waiting on wake */
    atomic_int caller_waiting;    /* the caller waiting on finished */
    atomic_int busy;              /* a crop or a state change in progress */
    atomic_int waker_cpu;         /* the CPU the last wake came from (a hint: see helper_main) */
    Band work[MAX_BANDS];
} CropHelpers;

/* The CPU the calling thread runs on, or -1 where the system does not say. */
static int current_cpu(void)
{
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

static int64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void post(CropHelpers *h, int what)
{
    const uint64_t next = ((atomic_load(&h->message) >> 2) + 1) << 2 | (uint64_t)what;
    atomic_store(&h->message, next);
    if (atomic_load(&h->sleepers) > 0) { /* the helper counts itself before it checks the message */
        pthread_mutex_lock(&h->lock);
        pthread_cond_broadcast(&h->wake);
        pthread_mutex_unlock(&h->lock);
    }
}

/* A band of the current job nobody has taken yet, or -1. */
static int claim_band(CropHelpers *h, uint32_t job)
{
    uint_fast64_t c = atomic_load(&h->claim);
    for (;;) {
        const int next = (int)(c >> 16 & 0xffff), bands = (int)(c & 0xffff);
        if ((uint32_t)(c >> 32) != job || next >= bands)
            return -1;
        if (atomic_compare_exchange_weak(&h->claim, &c, c + (1u << 16)))
            return next;
    }
}

static void run_bands(CropHelpers *h, uint32_t job)
{
    for (int k; (k = claim_band(h, job)) >= 0;) {
        warp_band(&h->work[k]);
        atomic_fetch_add(&h->done, 1);
        if (atomic_load(&h->caller_waiting)) { /* the caller counts itself before it checks done */
            pthread_mutex_lock(&h->lock);
            pthread_cond_signal(&h->finished);
            pthread_mutex_unlock(&h->lock);
        }
    }
}

/* The caller, its own bands done, waits for the helpers' (claimed, so under way): spinning for a short
 * while, then asleep, so that a helper kept from its CPU by other work can run on the caller's. */
static void wait_for_bands(CropHelpers *h, int bands)
{
    const int64_t spin_until = monotonic_ns() + DONE_SPIN_NS;
    while (atomic_load(&h->done) < bands)
        if (monotonic_ns() > spin_until) {
            pthread_mutex_lock(&h->lock);
            atomic_store(&h->caller_waiting, 1);
            while (atomic_load(&h->done) < bands)
                pthread_cond_wait(&h->finished, &h->lock);
            atomic_store(&h->caller_waiting, 0);
            pthread_mutex_unlock(&h->lock);
            return;
        }
}

static void *helper_main(void *arg)
{
    CropHelpers *h = arg;
    uint_fast64_t seen = h->first_seen;
    int64_t spin_until = 0;
    for (;;) {
        uint_fast64_t message = atomic_load(&h->message);
        if (message == seen) {
            if (spin_until > 0 && monotonic_ns() < spin_until) {
                for (int i = 0; i < 1024 && atomic_load_explicit(&h->message, memory_order_relaxed) == seen; i++)
                    ;
                /* On the CPU of the thread that woke it (the other cores busy), the helper spinning keeps that
                 * thread from posting the crop it waits for: it yields there, and spins elsewhere. */
                const int cpu = current_cpu();
                if (cpu >= 0 && cpu == atomic_load_explicit(&h->waker_cpu, memory_order_relaxed))
                    sched_yield();
                continue;
            }
            spin_until = 0;
            pthread_mutex_lock(&h->lock);
            atomic_fetch_add(&h->sleepers, 1);
            while ((message = atomic_load(&h->message)) == seen)
                pthread_cond_wait(&h->wake, &h->lock);
            atomic_fetch_sub(&h->sleepers, 1);
            pthread_mutex_unlock(&h->lock);
        }
        seen = message;
        if ((message & 3) == MESSAGE_EXIT)
            return NULL;
        if ((message & 3) == MESSAGE_WAKE) {
            spin_until = monotonic_ns() + WAKE_SPIN_NS;
        } else { /* a crop: its bands; then sleep (the next crop is a model's run away) */
            run_bands(h, (uint32_t)(atomic_load(&h->claim) >> 32));
            spin_until = 0;
        }
    }
}

/* A fresh state for this process: no helpers, no job, nobody waiting (called holding the GIL). */
static void init_state(CropHelpers *h)
{
    h->owner = getpid();
    h->started = 0;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    pthread_cond_init(&h->finished, NULL);
    h->jobs = 0;
    atomic_store(&h->message, 0);
    atomic_store(&h->claim, 0);
    atomic_store(&h->done, 0);
    atomic_store(&h->sleepers, 0);
    atomic_store(&h->caller_waiting, 0);
    atomic_store(&h->busy, 0);
    atomic_store(&h->waker_cpu, -1);
}

/* In a forked child: forgets the parent's helpers, which did not come along, and any crop the parent had
 * under way in another thread (its job and bands must not look like work to the child's helpers). */
static void refresh_after_fork(CropHelpers *h)
{
    if (h->owner != getpid())
        init_state(h);
}

/* Takes the helpers for one caller; 0 when another has them. */
static int take(CropHelpers *h)
{
    int idle = 0;
    return atomic_compare_exchange_strong(&h->busy, &idle, 1);
}

static void give_back(CropHelpers *h)
{
    atomic_store(&h->busy, 0);
}

static void start_helpers(CropHelpers *h)
{
    h->first_seen = atomic_load(&h->message);
    while (!h->closed && h->started < h->threads - 1 &&
           pthread_create(&h->ids[h->started], NULL, helper_main, h) == 0)
        h->started++;
}

static void stop_helpers(CropHelpers *h)
{
    if (h->owner == getpid() && h->started > 0) {
        post(h, MESSAGE_EXIT);
        for (int k = 0; k < h->started; k++)
            pthread_join(h->ids[k], NULL);
    }
    h->started = 0;
}
#else
typedef struct {
    PyObject_HEAD
    int threads;
    int closed;
} CropHelpers;
#endif

/* The crop in bands of rows: the calling thread's and its helpers'. Each output value is computed as in
 * one band, so the bits are the same however many. */
static void warp_in_bands(const Source *src, const double *m, int size, int vectorised, CropHelpers *h, float *out)
{
    Band whole = {src, m, size, 0, size, vectorised, out};
#if HAVE_THREADS
    if (h == NULL || h->threads < 2 || size / MIN_BAND_ROWS < 2 || !take(h)) {
        warp_band(&whole);
        return;
    }
    start_helpers(h);
    int bands = h->started + 1 < MAX_BANDS ? h->started + 1 : MAX_BANDS;
    if (bands > size / MIN_BAND_ROWS)
        bands = size / MIN_BAND_ROWS;
    if (bands < 2 || h->closed) { /* closed: close() waits for this crop to stop the helpers */
        give_back(h);
        warp_band(&whole);
        return;
    }
    for (int k = 0; k < bands; k++)
        h->work[k] = (Band){src, m, size, (int)((long)size * k / bands), (int)((long)size * (k + 1) / bands),
                            vectorised, out};
    const uint32_t job = ++h->jobs;
    atomic_store(&h->done, 0);
    atomic_store(&h->claim, (uint_fast64_t)job << 32 | (uint_fast64_t)bands);
    post(h, MESSAGE_WORK);
    run_bands(h, job);
    wait_for_bands(h, bands);
    give_back(h);
#else
    (void)h;
    warp_band(&whole);
#endif
}

/* The multiplier that gives every table entry as (float)level * scale, or 0. */
static float linear_scale(const float *table)
{
    const float scale = table[1];
    for (int k = 0; k < 256; k++)
        if (table[k] != (float)k * scale)
            return 0.0f;
    return scale;
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

/* Takes buffers b[0..n) of objs as C-contiguous float32 (from first_writable on, writable too), each named
 * in the error; false with the error set where one is not. The caller releases them (release_buffers),
 * also after a failure. */
static int float32_buffers(PyObject *const *objs, const char *const *names, int n, int first_writable, Py_buffer *b)
{
    for (int k = 0; k < n; k++) {
        const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (k >= first_writable ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objs[k], &b[k], flags) < 0 || check_buffer(&b[k], names[k], "f", 4))
            return 0;
    }
    return 1;
}

static void release_buffers(Py_buffer *b, int n)
{
    for (int k = 0; k < n; k++)
        if (b[k].obj)
            PyBuffer_Release(&b[k]);
}

/* The Python type of CropHelpers. */
static PyObject *helpers_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"threads", NULL};
    int threads;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "i", keywords, &threads))
        return NULL;
    if (threads < 1) {
        PyErr_Format(PyExc_ValueError, "threads: expected 1 or more, got %d", threads);
        return NULL;
    }
    CropHelpers *h = (CropHelpers *)type->tp_alloc(type, 0);
    if (h == NULL)
        return NULL;
    h->threads = HAVE_THREADS ? (threads < MAX_BANDS ? threads : MAX_BANDS) : 1;
#if HAVE_THREADS
    init_state(h);
#endif
    return (PyObject *)h;
}

static PyObject *helpers_close(PyObject *self, PyObject *unused)
{
    CropHelpers *h = (CropHelpers *)self;
    (void)unused;
    if (h->closed)
        Py_RETURN_NONE;
#if HAVE_THREADS
    refresh_after_fork(h);
    h->closed = 1; /* first: crops that begin from now on run alone */
    Py_BEGIN_ALLOW_THREADS
    while (!take(h)) /* the crop under way on another thread ends soon */
        sched_yield();
    stop_helpers(h);
    give_back(h);
    Py_END_ALLOW_THREADS
#else
    h->closed = 1;
#endif
    Py_RETURN_NONE;
}

static PyObject *helpers_wake(PyObject *self, PyObject *unused)
{
    CropHelpers *h = (CropHelpers *)self;
    (void)unused;
#if HAVE_THREADS
    refresh_after_fork(h);
    if (h->closed || h->threads < 2 || !take(h))
        Py_RETURN_NONE;
    start_helpers(h);
    if (h->started > 0) {
        atomic_store_explicit(&h->waker_cpu, current_cpu(), memory_order_relaxed);
        post(h, MESSAGE_WAKE);
    }
    give_back(h);
#else
    (void)h;
#endif
    Py_RETURN_NONE;
}

static void helpers_dealloc(PyObject *self)
{
    Py_XDECREF(helpers_close(self, NULL));
    Py_TYPE(self)->tp_free(self);
}

static PyObject *helpers_threads(PyObject *self, void *unused)
{
    (void)unused;
    return PyLong_FromLong(((CropHelpers *)self)->threads);
}

static PyObject *helpers_started(PyObject *self, void *unused)
{
    (void)unused;
#if HAVE_THREADS
    const CropHelpers *h = (const CropHelpers *)self;
    return PyLong_FromLong(h->owner == getpid() ? h->started : 0);
#else
    (void)self;
    return PyLong_FromLong(0);
#endif
}

static PyObject *helpers_closed(PyObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((CropHelpers *)self)->closed);
}

static PyMethodDef helpers_methods[] = {
    {"wake", helpers_wake, METH_NOARGS,
     "wake(): has the helpers wait spinning for a crop for a short while (0.5 ms), so that a crop about to "
     "come finds them running; starts them the first time"},
    {"close", helpers_close, METH_NOARGS, "close(): stops the helper threads; later crops run on the caller alone"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef helpers_getset[] = {
    {"threads", helpers_threads, NULL, "the most bands a crop is split into (the caller's and the helpers')", NULL},
    {"started", helpers_started, NULL, "helper threads running in this process", NULL},
    {"closed", helpers_closed, NULL, "whether close() was called", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CropHelpersType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "blazepose.core._native.CropHelpers",
    .tp_basicsize = sizeof(CropHelpers),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "CropHelpers(threads): threads kept for warp_to_tensor's bands of rows, started at the first use; "
              "threads counts the calling thread",
    .tp_new = helpers_new,
    .tp_dealloc = helpers_dealloc,
    .tp_methods = helpers_methods,
    .tp_getset = helpers_getset,
};

PyDoc_STRVAR(warp_doc,
             "warp_to_tensor(image, inverse, size, zero_border, table, out, simd=True, helpers=None)\n\n"
             "Samples a (H, W, C) uint8 image (any strides) through the 3x3 float64\n"
             "output-to-source map `inverse` into `out`, (size, size, C) float32,\n"
             "mapping levels through the (256,) float32 `table`. simd=False keeps to\n"
             "the scalar code (same bits; for tests). With a CropHelpers, the rows are\n"
             "split into up to its threads bands (of 32 rows or more), the caller's and\n"
             "its helpers' (same bits).");

static PyObject *simd_path(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(cpu_has_avx2() ? "avx2" : "scalar");
}

static PyObject *warp_threads(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromLong(HAVE_THREADS ? MAX_BANDS : 1);
}

static PyObject *warp_to_tensor(PyObject *self, PyObject *args)
{
    Py_buffer image = {0}, inverse = {0}, table = {0}, out = {0};
    PyObject *image_obj, *inverse_obj, *table_obj, *out_obj, *helpers_obj = Py_None, *result = NULL;
    int size, zero_border, simd = 1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOipOO|pO", &image_obj, &inverse_obj, &size, &zero_border, &table_obj, &out_obj,
                          &simd, &helpers_obj))
        return NULL;
    if (helpers_obj != Py_None && !PyObject_TypeCheck(helpers_obj, &CropHelpersType)) {
        PyErr_Format(PyExc_TypeError, "helpers: expected a CropHelpers or None, got %s", Py_TYPE(helpers_obj)->tp_name);
        return NULL;
    }
    CropHelpers *helpers = helpers_obj == Py_None ? NULL : (CropHelpers *)helpers_obj;
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
    /* Compared by division: size * size * channels * 4 overflows for sizes near 2**30. */
    if (size < 1 || out.len % (image.shape[2] * 4) != 0 || out.len / (image.shape[2] * 4) / size != size ||
        out.len / (image.shape[2] * 4) % size != 0) {
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
        src.scale = linear_scale(src.table);
        const double *m = inverse.buf;
        float *dst = out.buf;
        const int vectorised = simd && cpu_has_avx2() && avx2_fits(&src);
#if HAVE_THREADS
        if (helpers != NULL)
            refresh_after_fork(helpers);
#endif
        Py_BEGIN_ALLOW_THREADS
        warp_in_bands(&src, m, size, vectorised, helpers, dst);
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
static void refine(float *restrict xy, Py_ssize_t stride, Py_ssize_t n, const float *restrict heatmap, int height,
                   int width, int kernel, float min_confidence)
{
    const int half = (kernel - 1) / 2;
    for (Py_ssize_t i = 0; i < n; i++) {
        const float fc = xy[stride * i] * (float)width, fr = xy[stride * i + 1] * (float)height;
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
            xy[stride * i] = sum_col / (float)width / total;
            xy[stride * i + 1] = sum_row / (float)height / total;
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
        refine(p, 2, n, h, height, width, kernel, min_confidence);
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

/* decode_pose_outputs: landmarks.decode_pose's numpy stages in one pass, in float
 * arithmetic in the same order (the tests hold the two equal bit for bit):
 * decode (x, y, z over the input side, visibility and presence through
 * 1 / (1 + expf(-v))), heatmap refinement, the letterbox padding taken off
 * (left, top, right, bottom; remove_letterbox, whose Python float padding
 * numpy rounds to float32 where it meets the float32 landmarks), projection
 * into the image by the region's cosine and sine (computed by the caller) and
 * size, and the world landmarks turned by the same rotation. */
static void decode(const float *restrict raw, const float *restrict raw_world, Py_ssize_t n, float input_size,
                   const float *restrict heatmap, int height, int width, int kernel, float min_confidence,
                   const double *padding, const float *restrict region, float *restrict out, float *restrict world)
{
    const float c = region[0], s = region[1], x_center = region[2], y_center = region[3];
    const float rect_width = region[4], rect_height = region[5];
    const int letterboxed = padding[0] != 0.0 || padding[1] != 0.0 || padding[2] != 0.0 || padding[3] != 0.0;
    const float left = (float)padding[0], top = (float)padding[1];
    const float kept_width = (float)(1.0 - padding[0] - padding[2]), kept_height = (float)(1.0 - padding[1] - padding[3]);
    for (Py_ssize_t i = 0; i < n; i++) {
        const float *r = raw + 5 * i;
        float *o = out + 5 * i;
        o[0] = r[0] / input_size;
        o[1] = r[1] / input_size;
        o[2] = r[2] / input_size;
        o[3] = 1.0f / (1.0f + expf(-r[3]));
        o[4] = 1.0f / (1.0f + expf(-r[4]));
    }
    refine(out, 5, n, heatmap, height, width, kernel, min_confidence);
    for (Py_ssize_t i = 0; i < n; i++) {
        float *o = out + 5 * i;
        if (letterboxed) {
            o[0] = (o[0] - left) / kept_width;
            o[1] = (o[1] - top) / kept_height;
            o[2] = o[2] / kept_width;
        }
        const float x = o[0] - 0.5f, y = o[1] - 0.5f;
        const float cx = c * x, sy = s * y, sx = s * x, cy = c * y;
        o[0] = (cx - sy) * rect_width + x_center;
        o[1] = (sx + cy) * rect_height + y_center;
        o[2] = o[2] * rect_width;
        const float *w = raw_world + 3 * i;
        const float wcx = c * w[0], wsy = s * w[1], wsx = s * w[0], wcy = c * w[1];
        world[3 * i] = wcx - wsy;
        world[3 * i + 1] = wsx + wcy;
        world[3 * i + 2] = w[2];
    }
}

/* cosf and sinf called as functions of their own: a compiler may otherwise merge the two into one sincosf
 * call, whose results need not be theirs bit for bit. */
static float (*volatile cos_of_float)(float) = cosf;
static float (*volatile sin_of_float)(float) = sinf;

static PyObject *decode_pose_in_region(PyObject *self, PyObject *args)
{
    Py_buffer raw = {0}, raw_world = {0}, heatmap = {0}, out = {0}, world = {0};
    PyObject *raw_obj, *raw_world_obj, *heatmap_obj, *out_obj, *world_obj, *result = NULL;
    int kernel;
    float min_confidence, input_size;
    double padding[4], rotation, x_center, y_center, width, height;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOfif(dddd)(ddddd)OO", &raw_obj, &raw_world_obj, &heatmap_obj, &input_size,
                          &kernel, &min_confidence, &padding[0], &padding[1], &padding[2], &padding[3], &x_center,
                          &y_center, &width, &height, &rotation, &out_obj, &world_obj))
        return NULL;
    if (PyObject_GetBuffer(raw_obj, &raw, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0 ||
        PyObject_GetBuffer(raw_world_obj, &raw_world, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0 ||
        PyObject_GetBuffer(heatmap_obj, &heatmap, PyBUF_RECORDS_RO | PyBUF_C_CONTIGUOUS) < 0 ||
        PyObject_GetBuffer(out_obj, &out, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0 ||
        PyObject_GetBuffer(world_obj, &world, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        goto done;
    if (check_buffer(&raw, "raw", "f", 4) || check_buffer(&raw_world, "raw_world", "f", 4) ||
        check_buffer(&heatmap, "heatmap", "f", 4) || check_buffer(&out, "out", "f", 4) ||
        check_buffer(&world, "world", "f", 4))
        goto done;
    if (heatmap.ndim != 3 || heatmap.shape[0] > INT_MAX / 2 || heatmap.shape[1] > INT_MAX / 2 || kernel < 1 ||
        raw.len != heatmap.shape[2] * 5 * 4 || out.len != raw.len || raw_world.len != heatmap.shape[2] * 3 * 4 ||
        world.len != raw_world.len) {
        PyErr_SetString(PyExc_ValueError, "expected N x 5 raw landmarks and out, N x 3 raw world and world, "
                                          "an (H, W, N) heatmap and a positive kernel");
        goto done;
    }
    {
        /* The region as float32 (its rotation's cosine and sine by the C library, as cos32 and sin32). */
        const float angle = (float)rotation;
        const float region[6] = {cos_of_float(angle), sin_of_float(angle), (float)x_center, (float)y_center,
                                 (float)width,        (float)height};
        const Py_ssize_t n = heatmap.shape[2];
        const int rows = (int)heatmap.shape[0], cols = (int)heatmap.shape[1];
        Py_BEGIN_ALLOW_THREADS
        decode(raw.buf, raw_world.buf, n, input_size, heatmap.buf, rows, cols, kernel, min_confidence, padding,
               region, out.buf, world.buf);
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    if (raw.obj)
        PyBuffer_Release(&raw);
    if (raw_world.obj)
        PyBuffer_Release(&raw_world);
    if (heatmap.obj)
        PyBuffer_Release(&heatmap);
    if (out.obj)
        PyBuffer_Release(&out);
    if (world.obj)
        PyBuffer_Release(&world);
    return result;
}

/* decode_detections: detection.decode_detections's numpy stages in one pass over the anchors, in float
 * arithmetic in the same order (the tests hold the two equal bit for bit): the score 1 / (1 + expf(-logit))
 * of the logit clipped to [-100, 100], then for those at least min_score the box centre and size and the
 * keypoints over the input side plus the anchor, the box's corners, and only boxes of size >= 0. Writes
 * 13 floats per kept anchor (xmin, ymin, xmax, ymax, 4 keypoints x, y, score), in anchor order. */
enum { DETECTION_VALUES = 12, DECODED_VALUES = 13 };

static Py_ssize_t decode_anchors(const float *restrict raw, const float *restrict logits,
                                 const float *restrict anchors, Py_ssize_t n, float min_score, float size,
                                 float *restrict out)
{
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        float logit = logits[i];
        logit = logit < -100.0f ? -100.0f : (logit > 100.0f ? 100.0f : logit); /* a NaN stays NaN */
        const float score = 1.0f / (1.0f + expf(-logit));
        if (!(score >= min_score))
            continue;
        const float *r = raw + DETECTION_VALUES * i, ax = anchors[2 * i], ay = anchors[2 * i + 1];
        const float cx = r[0] / size + ax, cy = r[1] / size + ay, w = r[2] / size, h = r[3] / size;
        if (!(w >= 0.0f && h >= 0.0f))
            continue;
        float *o = out + DECODED_VALUES * kept++;
        o[0] = cx - w / 2.0f;
        o[1] = cy - h / 2.0f;
        o[2] = cx + w / 2.0f;
        o[3] = cy + h / 2.0f;
        for (int k = 0; k < 4; k++) {
            o[4 + 2 * k] = r[4 + 2 * k] / size + ax;
            o[5 + 2 * k] = r[5 + 2 * k] / size + ay;
        }
        o[DETECTION_VALUES] = score;
    }
    return kept;
}

static PyObject *decode_detections(PyObject *self, PyObject *args)
{
    enum { N_BUFFERS = 4 };
    static const char *const names[N_BUFFERS] = {"raw_boxes", "raw_scores", "anchors", "out"};
    PyObject *objs[N_BUFFERS], *result = NULL;
    Py_buffer b[N_BUFFERS] = {{0}};
    float min_score, size;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOffO", &objs[0], &objs[1], &objs[2], &min_score, &size, &objs[3]))
        return NULL;
    if (!float32_buffers(objs, names, N_BUFFERS, 3, b))
        goto done;
    {
        const Py_ssize_t n = b[1].len / 4;
        if (b[0].len != n * DETECTION_VALUES * 4 || b[2].len != n * 2 * 4 || b[3].len != n * DECODED_VALUES * 4) {
            PyErr_Format(PyExc_ValueError,
                         "expected float32 raw_boxes of N x %d, N raw_scores, N x 2 anchors and out of N x %d "
                         "for N = %zd scores",
                         DETECTION_VALUES, DECODED_VALUES, n);
            goto done;
        }
        Py_ssize_t kept;
        Py_BEGIN_ALLOW_THREADS
        kept = decode_anchors(b[0].buf, b[1].buf, b[2].buf, n, min_score, size, b[3].buf);
        Py_END_ALLOW_THREADS
        result = PyLong_FromSsize_t(kept);
    }
done:
    release_buffers(b, N_BUFFERS);
    return result;
}

/* NaN if either is NaN, as numpy's minimum and maximum. */
static float min_keeping_nan(float a, float b)
{
    return (a != a || b != b) ? NAN : (a < b ? a : b);
}

static float max_keeping_nan(float a, float b)
{
    return (a != a || b != b) ? NAN : (a > b ? a : b);
}

typedef struct {
    float score;
    Py_ssize_t row;
} Ranked;

/* Best score first, NaN last, ties in row order: numpy's stable argsort of the negated scores. */
static int by_score(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;
    const int x_nan = x->score != x->score, y_nan = y->score != y->score;
    if (x_nan != y_nan)
        return x_nan - y_nan;
    if (!x_nan && x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* nms_rows: detection.weighted_nms on decoded rows (box, keypoints, score), taken best score first, in float
 * arithmetic in the numpy code's order. The IoU's minimum and maximum keep a NaN as numpy's do; a row
 * whose IoU with the best one is NaN joins neither its group nor what remains, as there. Writes one row per
 * group and returns how many; -1 when out of memory. */
static Py_ssize_t nms_rows(const float *restrict rows, Py_ssize_t n, float threshold, float *restrict out)
{
    Py_ssize_t *remaining = malloc(sizeof(Py_ssize_t) * (size_t)(2 * n + 1)), kept = 0;
    Ranked *ranked = malloc(sizeof(Ranked) * (size_t)(n + 1));
    if (!remaining || !ranked) {
        free(remaining);
        free(ranked);
        return -1;
    }
    Py_ssize_t *group = remaining + n, left = n;
    for (Py_ssize_t i = 0; i < n; i++)
        ranked[i] = (Ranked){rows[DECODED_VALUES * i + DETECTION_VALUES], i};
    qsort(ranked, (size_t)n, sizeof(Ranked), by_score);
    for (Py_ssize_t i = 0; i < n; i++)
        remaining[i] = ranked[i].row;
    free(ranked);
    while (left > 0) {
        const float *top = rows + DECODED_VALUES * remaining[0];
        const float area = (top[2] - top[0]) * (top[3] - top[1]);
        Py_ssize_t members = 0, still = 0;
        for (Py_ssize_t k = 0; k < left; k++) {
            const float *r = rows + DECODED_VALUES * remaining[k];
            const float ix = min_keeping_nan(top[2], r[2]) - max_keeping_nan(top[0], r[0]);
            const float iy = min_keeping_nan(top[3], r[3]) - max_keeping_nan(top[1], r[1]);
            const float inter = (ix > 0.0f && iy > 0.0f) ? ix * iy : 0.0f;
            const float uni = (area + (r[2] - r[0]) * (r[3] - r[1])) - inter;
            const float iou = uni > 0.0f ? inter / uni : 0.0f;
            if (iou > threshold)
                group[members++] = remaining[k];
            else if (iou <= threshold)
                remaining[still++] = remaining[k]; /* still <= k: read before it is overwritten */
        }
        float *o = out + DECODED_VALUES * kept++;
        o[DETECTION_VALUES] = top[DETECTION_VALUES];
        float total = 0.0f;
        if (members > 0) {
            total = rows[DECODED_VALUES * group[0] + DETECTION_VALUES];
            for (Py_ssize_t g = 1; g < members; g++)
                total = total + rows[DECODED_VALUES * group[g] + DETECTION_VALUES];
        }
        if (members > 0 && total > 0.0f) {
            for (int v = 0; v < DETECTION_VALUES; v++) {
                const float *first = rows + DECODED_VALUES * group[0];
                float sum = first[v] * first[DETECTION_VALUES];
                for (Py_ssize_t g = 1; g < members; g++) {
                    const float *r = rows + DECODED_VALUES * group[g];
                    sum = sum + r[v] * r[DETECTION_VALUES];
                }
                o[v] = sum / total;
            }
        } else { /* a degenerate best box (it ends the loop) or weights summing to 0 */
            memcpy(o, top, sizeof(float) * DETECTION_VALUES);
        }
        if (members == 0)
            break;
        left = still;
    }
    free(remaining);
    return kept;
}

static PyObject *weighted_nms(PyObject *self, PyObject *args)
{
    enum { N_BUFFERS = 2 };
    static const char *const names[N_BUFFERS] = {"rows", "out"};
    PyObject *objs[N_BUFFERS], *result = NULL;
    Py_buffer b[N_BUFFERS] = {{0}};
    float threshold;
    (void)self;
    if (!PyArg_ParseTuple(args, "OfO", &objs[0], &threshold, &objs[1]))
        return NULL;
    if (!float32_buffers(objs, names, N_BUFFERS, 1, b))
        goto done;
    {
        const Py_ssize_t n = b[0].len / (4 * DECODED_VALUES);
        if (b[0].len != n * DECODED_VALUES * 4 || b[1].len != b[0].len) {
            PyErr_Format(PyExc_ValueError, "expected float32 rows of N x %d and out of the same size, got %zd and %zd "
                         "floats", DECODED_VALUES, b[0].len / 4, b[1].len / 4);
            goto done;
        }
        const char *rows = b[0].buf, *out = b[1].buf;
        if (n > 0 && rows < out + b[1].len && out < rows + b[0].len) {
            PyErr_SetString(PyExc_ValueError, "out must not share memory with rows");
            goto done;
        }
        Py_ssize_t kept;
        Py_BEGIN_ALLOW_THREADS
        kept = nms_rows(b[0].buf, n, threshold, b[1].buf);
        Py_END_ALLOW_THREADS
        result = kept < 0 ? PyErr_NoMemory() : PyLong_FromSsize_t(kept);
    }
done:
    release_buffers(b, N_BUFFERS);
    return result;
}

/* A One Euro step once the filter has a previous value: the speed, its low-pass, the cutoff and the
 * value's low-pass per element, in the numpy code's double and float steps (tests hold the two equal). */
static void one_euro(const float *restrict x, const float *restrict raw, const float *restrict value,
                     const float *restrict speed_value, Py_ssize_t n, double value_scale, double frequency,
                     double min_cutoff, double beta, double derivate_cutoff, float *restrict speed,
                     float *restrict speed_out, float *restrict out)
{
    const double pi = 3.14159265358979323846, te = 1.0 / frequency;
    const float speed_alpha = (float)(1.0 / (1.0 + (1.0 / (2 * pi * derivate_cutoff)) / te));
    for (Py_ssize_t i = 0; i < n; i++) {
        speed[i] = (float)(((double)x[i] - (double)raw[i]) * value_scale * frequency);
        const float smoothed = (float)((double)(speed_alpha * speed[i]) + (1.0 - (double)speed_alpha) * speed_value[i]);
        speed_out[i] = smoothed;
        const double cutoff = min_cutoff + beta * fabs((double)smoothed);
        const float alpha = (float)(1.0 / (1.0 + (1.0 / (2 * pi * cutoff)) / te));
        out[i] = (float)((double)(alpha * x[i]) + (1.0 - (double)alpha) * (double)value[i]);
    }
}

/* smoother_step, for filters.OneEuroFilter once it has a previous value: its step, and with visibility
 * values (not empty) a landmark smoother's low-pass of them in the same call (LowPassFilter's float and
 * double steps). */
static PyObject *smoother_step(PyObject *self, PyObject *args)
{
    enum { N_BUFFERS = 10, COORDS_IN = 4, FIRST_OUT = 6 };
    static const char *const names[N_BUFFERS] = {"x", "raw", "value", "speed_value", "visibility", "visibility_value",
                                                 "speed", "speed_out", "out", "visibility_out"};
    PyObject *objs[N_BUFFERS], *result = NULL;
    Py_buffer b[N_BUFFERS] = {{0}};
    double value_scale, frequency, min_cutoff, beta, derivate_cutoff, visibility_alpha;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOddddddOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                          &value_scale, &frequency, &min_cutoff, &beta, &derivate_cutoff, &visibility_alpha,
                          &objs[6], &objs[7], &objs[8], &objs[9]))
        return NULL;
    if (!float32_buffers(objs, names, N_BUFFERS, FIRST_OUT, b))
        goto done;
    for (int k = 1; k < N_BUFFERS; k++) {
        const int coords = k < COORDS_IN || (k >= FIRST_OUT && k < N_BUFFERS - 1);
        const Py_ssize_t expected = coords ? b[0].len : b[4].len;
        if (b[k].len != expected) {
            PyErr_Format(PyExc_ValueError, "%s: expected %zd float32 like %s, got %zd", names[k], expected / 4,
                         coords ? "x" : "visibility", b[k].len / 4);
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    const float alpha = (float)visibility_alpha;
    const float *visibility = b[4].buf, *previous = b[5].buf;
    float *visibility_out = b[9].buf;
    for (Py_ssize_t i = 0; i < b[4].len / 4; i++)
        visibility_out[i] = (float)((double)(alpha * visibility[i]) + (1.0 - (double)alpha) * (double)previous[i]);
    one_euro(b[0].buf, b[1].buf, b[2].buf, b[3].buf, b[0].len / 4, value_scale, frequency, min_cutoff, beta,
             derivate_cutoff, b[6].buf, b[7].buf, b[8].buf);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    release_buffers(b, N_BUFFERS);
    return result;
}

/* alignment_rect, for blazepose.core.roi: the region of two alignment points
 * in roi.py's float steps (atan2f and sqrtf as there; the angle wrapped in
 * double), with the enlarged region's size and the object scale. */
static PyObject *alignment_rect(PyObject *self, PyObject *args)
{
    float cx, cy, px, py, scale;
    int image_width, image_height;
    (void)self;
    if (!PyArg_ParseTuple(args, "ffffiif", &cx, &cy, &px, &py, &image_width, &image_height, &scale))
        return NULL;
    const double pi = 3.14159265358979323846;
    const float w = (float)image_width, h = (float)image_height;
    const float x0 = cx * w, y0 = cy * h, x1 = px * w, y1 = py * h;
    const float dx = x1 - x0, dy = y1 - y0;
    const float dx2 = dx * dx, dy2 = dy * dy;
    const float side = sqrtf(dx2 + dy2) * 2.0f;
    const float angle = (float)(pi / 2) - atan2f(-dy, dx);
    const double a = angle;
    const float rotation = (float)(a - 2 * pi * floor((a - (-pi)) / (2 * pi)));
    const float width = side / w, height = side / h;
    const float wide = width * w, tall = height * h;
    const float long_side = tall > wide ? tall : wide;
    const float object_scale = (wide + tall) / 2.0f;
    return Py_BuildValue("dddddddd", (double)(x0 / w), (double)(y0 / h), (double)width, (double)height,
                         (double)rotation, (double)(long_side / w * scale), (double)(long_side / h * scale),
                         (double)object_scale);
}

static PyMethodDef methods[] = {
    {"warp_to_tensor", warp_to_tensor, METH_VARARGS, warp_doc},
    {"simd_path", simd_path, METH_NOARGS, "simd_path(): the vector code warp_to_tensor uses here ('avx2' or 'scalar')"},
    {"warp_threads", warp_threads, METH_NOARGS, "warp_threads(): the most threads warp_to_tensor splits a crop over"},
    {"refine_with_heatmap", refine_with_heatmap, METH_VARARGS,
     "refine_with_heatmap(xy, heatmap, kernel, min_confidence): refines (N, 2) float32 xy in place"},
    {"smoother_step", smoother_step, METH_VARARGS,
     "smoother_step(x, raw, value, speed_value, visibility, visibility_value, value_scale, frequency, min_cutoff, "
     "beta, derivate_cutoff, visibility_alpha, speed, speed_out, out, visibility_out): one step of "
     "filters.OneEuroFilter with a previous value and, where the visibility buffers are not empty, of the "
     "visibility's low-pass filter"},
    {"alignment_rect", alignment_rect, METH_VARARGS,
     "alignment_rect(cx, cy, px, py, image_width, image_height, scale): x_center, y_center, width, height, "
     "rotation of roi.rect_from_alignment_points, the width and height enlarge_rect gives it, object_scale"},
    {"decode_detections", decode_detections, METH_VARARGS,
     "decode_detections(raw_boxes, raw_scores, anchors, min_score, input_size, out): detection.decode_detections "
     "into out (N x 13 float32: box, keypoints, score per kept anchor, in anchor order); returns how many"},
    {"weighted_nms", weighted_nms, METH_VARARGS,
     "weighted_nms(rows, iou_threshold, out): detection.weighted_nms on N x 13 float32 rows (box, keypoints, "
     "score), into out (the same size); returns how many rows it wrote"},
    {"decode_pose_in_region", decode_pose_in_region, METH_VARARGS,
     "decode_pose_in_region(raw, raw_world, heatmap, input_size, kernel, min_confidence, padding, region, out, "
     "world): landmarks.decode_pose; padding is the crop's (left, top, right, bottom), region the roi's "
     "(x_center, y_center, width, height, rotation)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "blazepose.core._native", "Optional compiled kernels for blazepose.", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void)
{
    if (PyType_Ready(&CropHelpersType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "CropHelpers", (PyObject *)&CropHelpersType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
