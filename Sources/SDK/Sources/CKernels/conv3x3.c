/* Direct 3x3 convolution kernels: see include/cil_kernels.h. One source body
 * (conv3x3_body.inc) is compiled for AVX-512, AVX2+FMA and a generic 4-wide
 * vector; the widest the CPU supports is chosen once. */
#include "cil_kernels.h"
#include <stdint.h>
#include <string.h>

#define GRANULE 48 /* output positions per tile row: QB (3) x the widest vector (16) */
#define WINO_BLOCK_TILES 16 /* Winograd: the fewest tiles per block (the widest vector) */
#ifndef WINO_BLOCK_BUDGET
#define WINO_BLOCK_BUDGET 65536 /* floats of transformed input per block (256 KiB, in L2); measured:
                                   * 4-32 Ki floats ran the 16- and 32-channel layers 5-15% slower */
#endif

/* Winograd blocks: *G images of *rb tile rows each. Images of fewer than
 * WINO_BLOCK_TILES tiles are grouped (up to N of them); larger ones are cut into
 * blocks of whole tile rows, about WINO_BLOCK_BUDGET floats of transformed input
 * (16 x C x tiles) each. */
static void wino_blocks(int N, int C, int H, int W, int *G, int *rb) {
    const int th = (H + 1) / 2, tw = (W + 1) / 2;
    const long tpi = (long)th * tw;
    int target = WINO_BLOCK_BUDGET / 16 / (C > 0 ? C : 1) / 16 * 16;
    if (target < WINO_BLOCK_TILES) target = WINO_BLOCK_TILES;
    if (tpi < WINO_BLOCK_TILES) {
        long g = (WINO_BLOCK_TILES + tpi - 1) / tpi;
        *G = (int)(g < N ? g : (N > 0 ? N : 1));
        *rb = th;
    } else {
        *G = 1;
        *rb = tw >= target ? 1 : target / tw;
    }
}
/* The row stride of V and M for a block of g images of rb tile rows: its tile count
 * rounded up to the widest vector. */
static long wino_block_tiles(int g, int rb, int W) {
    const long tiles = (long)g * rb * ((W + 1) / 2);
    return (tiles + 15) / 16 * 16;
}
/* The stride between the positions xi of V (rows = C) or M (rows = O): one cache line
 * more than the rows, so that the 16 streams of a tile's positions (a multiple of
 * 4 KiB apart otherwise) do not share one L1 set. */
static long wino_pos_stride(int rows, long ts) { return rows * ts + 16; }

/* Winograd F(4x4, 3x3) blocks: as wino_blocks, for 4x4 tiles and 36 positions: images
 * of at most the target tile count (W43_BLOCK_BUDGET floats of transformed input,
 * 36 x C x tiles) grouped, larger ones cut into blocks of whole tile rows. */
#ifndef W43_BLOCK_BUDGET
#define W43_BLOCK_BUDGET 65536 /* F(2x2)'s budget, not tuned separately: 32-128 Ki floats were
                                * within the noise of a busy machine */
#endif
static void w43_blocks(int N, int C, int H, int W, int *G, int *rb) {
    const int th = (H + 3) / 4, tw = (W + 3) / 4;
    const long tpi = (long)th * tw;
    long target = W43_BLOCK_BUDGET / 36 / (C > 0 ? C : 1) / 16 * 16;
    if (target < WINO_BLOCK_TILES) target = WINO_BLOCK_TILES;
    if (tpi <= target) {
        long g = target / tpi;
        *G = (int)(g < N ? g : (N > 0 ? N : 1));
        *rb = th;
    } else {
        *G = 1;
        *rb = tw >= target ? 1 : (int)(target / tw);
    }
}
/* The row stride of V and M for a block of g images of rb rows of 4x4 tiles. */
static long w43_block_tiles(int g, int rb, int W) {
    const long tiles = (long)g * rb * ((W + 3) / 4);
    return (tiles + 15) / 16 * 16;
}
/* The F(4x4) scratch, in floats from the (64-byte aligned) start, every part a
 * multiple of 16 floats: V [36][C][ts], M [36][O][ts], the column pass tb [6][tbs],
 * the output rows yb [4][ybs], the row-end masks ml, mr [ts] and a zero row [W]. */
struct w43_layout {
    long v, m, tb, tbs, yb, ybs, ml, mr, zero, total;
};
static struct w43_layout w43_layout_of(int C, int O, int W, long ts) {
    struct w43_layout L;
    L.v = 0;
    L.m = L.v + 36 * wino_pos_stride(C, ts);
    L.tb = L.m + 36 * wino_pos_stride(O, ts);
    L.tbs = 4 * ts + 16;
    L.yb = L.tb + 6 * L.tbs;
    L.ybs = 4 * ts;
    L.ml = L.yb + 4 * L.ybs;
    L.mr = L.ml + ts;
    L.zero = L.mr + ts;
    L.total = L.zero + (W + 15) / 16 * 16;
    return L;
}

typedef float v16f __attribute__((vector_size(64), aligned(4)));
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef float v4f __attribute__((vector_size(16), aligned(4)));

#define VL 16
#define VEC v16f
#define ATTR __attribute__((target("avx512f,fma")))
#define SUFFIX avx512
#include "conv3x3_body.inc"
#include "winograd_body.inc"
#include "winograd43_body.inc"
#undef VL
#undef VEC
#undef ATTR
#undef SUFFIX

#define VL 8
#define VEC v8f
#define ATTR __attribute__((target("avx2,fma")))
#define SUFFIX avx2
#include "conv3x3_body.inc"
#include "winograd_body.inc"
#include "winograd43_body.inc"
#undef VL
#undef VEC
#undef ATTR
#undef SUFFIX

#define VL 4
#define VEC v4f
#define ATTR
#define SUFFIX generic
#include "conv3x3_body.inc"
#include "winograd_body.inc"
#include "winograd43_body.inc"
#undef VL
#undef VEC
#undef ATTR
#undef SUFFIX

typedef void (*planes_fn)(const float *, int, long, int, const float *, int, float *, long);
typedef void (*dw_fn)(const float *, int, long, int, int, int, const float *, int, float *);
typedef void (*dwq_fn)(const float *, int, long, int, const float *, long, int, float *);
typedef void (*wino_fn)(const float *, int, int, int, int, const float *, int, float *, float *);
typedef void (*wino_dw_fn)(const float *, const float *, int, int, int, int, int, float *, float *);

/* One vector width's kernels. The set in use is one atomic pointer, so that a call
 * always sees a consistent set, even while a test switches widths. */
struct kernel_set {
    int width;
    planes_fn planes;
    dw_fn dw;
    dwq_fn dwq;
    wino_fn wino;
    wino_dw_fn wino_dw;
    wino_fn wino43;
};
static const struct kernel_set avx512_set = {16, conv_planes_avx512, dw_planes_avx512, dwq_planes_avx512, wino_images_avx512, wino_dw_images_avx512, w43_images_avx512};
static const struct kernel_set avx2_set = {8, conv_planes_avx2, dw_planes_avx2, dwq_planes_avx2, wino_images_avx2, wino_dw_images_avx2, w43_images_avx2};
static const struct kernel_set generic_set = {4, conv_planes_generic, dw_planes_generic, dwq_planes_generic, wino_images_generic, wino_dw_images_generic, w43_images_generic};
static const struct kernel_set *chosen_set = 0;

/* The kernels of `width` if this CPU runs them, else NULL. */
static const struct kernel_set *set_for(int width) {
    __builtin_cpu_init();
    if (width == 16 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return &avx512_set;
    if (width == 8 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &avx2_set;
    if (width == 4) return &generic_set;
    return 0;
}

/* The set in use; the widest this CPU runs unless a test chose another. */
static const struct kernel_set *kernels(void) {
    const struct kernel_set *k = __atomic_load_n(&chosen_set, __ATOMIC_ACQUIRE);
    if (k) return k;
    k = set_for(16);
    if (!k) k = set_for(8);
    if (!k) k = &generic_set;
    const struct kernel_set *expected = 0;
    if (!__atomic_compare_exchange_n(&chosen_set, &expected, k, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return expected;
    return k;
}

/* The set of `width` (as returned by cil_conv3x3_vector_width), else the one in use. */
static const struct kernel_set *kernels_of(int width) {
    const struct kernel_set *k = set_for(width);
    return k ? k : kernels();
}

int cil_conv3x3_use_width(int width) {
    const struct kernel_set *k = set_for(width);
    if (!k) return 0;
    __atomic_store_n(&chosen_set, k, __ATOMIC_RELEASE);
    return 1;
}

int cil_conv3x3_vector_width(void) {
    return kernels()->width;
}

static long qpad_of(int H, int W) {
    long q = (long)H * (W + 2);
    return (q + GRANULE - 1) / GRANULE * GRANULE;
}

/* The padded planes, then the slack that the last tiles read past the last plane. */
static long planes_floats(int C, int H, int W) {
    long pitch = W + 2, plane = (H + 2) * pitch;
    long slack = qpad_of(H, W) + 2 * pitch + 2 - plane;
    return C * plane + (slack > 0 ? slack : 0);
}

long cil_conv3x3_workspace(int C, int O, int H, int W) {
    return planes_floats(C, H, W) + (long)O * qpad_of(H, W);
}

void cil_conv3x3_pack_weights(const float *w, int O, int C, float *wpacked) {
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < 9; t++) wpacked[((long)c * 9 + t) * O + o] = w[((long)o * C + c) * 9 + t];
}

void cil_conv3x3_pack_weights_transposed(const float *w, int O, int C, float *wpacked) {
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < 9; t++) wpacked[((long)o * 9 + t) * C + c] = w[((long)o * C + c) * 9 + (8 - t)];
}

/* The zero-padded planes of x (borders zeroed, interiors copied) and the slack. */
static void pad_planes(const float *x, int C, int H, int W, float *xp) {
    const int pitch = W + 2;
    const long plane = (long)(H + 2) * pitch, total = planes_floats(C, H, W);
    for (int c = 0; c < C; c++) {
        float *p = xp + c * plane;
        const float *src = x + (long)c * H * W;
        memset(p, 0, sizeof(float) * (size_t)pitch);
        for (int i = 0; i < H; i++) {
            float *row = p + (long)(i + 1) * pitch;
            row[0] = 0;
            memcpy(row + 1, src + (long)i * W, sizeof(float) * (size_t)W);
            row[W + 1] = 0;
        }
        memset(p + (long)(H + 1) * pitch, 0, sizeof(float) * (size_t)pitch);
    }
    if (total > C * plane) memset(xp + C * plane, 0, sizeof(float) * (size_t)(total - C * plane));
}

void cil_conv3x3_image(int width, const float *x, int C, int H, int W, const float *wpacked, int O,
                       float *y, float *work) {
    const struct kernel_set *k = kernels_of(width);
    const int pitch = W + 2;
    const long plane = (long)(H + 2) * pitch, qpad = qpad_of(H, W);
    float *xp = work, *out = work + planes_floats(C, H, W);
    pad_planes(x, C, H, W, xp);
    k->planes(xp, C, plane, pitch, wpacked, O, out, qpad);
    for (int o = 0; o < O; o++)
        for (int i = 0; i < H; i++)
            memcpy(y + ((long)o * H + i) * W, out + o * qpad + (long)i * pitch, sizeof(float) * (size_t)W);
}

/* Large images take the position-vector weight-gradient tiles, small ones the
 * channel-vector tiles (which need O to be a multiple of the vector width). */
static int positions_path(int H, int W) { return (long)H * (W + 2) >= 512; }

int cil_conv3x3_weight_grad_supported(int width, int O, int H, int W) {
    return positions_path(H, W) || O % kernels_of(width)->width == 0;
}

long cil_conv3x3_weight_grad_workspace(int C, int O, int H, int W) {
    long dy = positions_path(H, W) ? (long)O * qpad_of(H, W) : (long)H * W * O;
    return planes_floats(C, H, W) + dy;
}

void cil_conv3x3_weight_grad_image(int width, const float *x, const float *gy, int C, int H, int W, int O,
                                   float *dwpacked, float *work) {
    const struct kernel_set *k = kernels_of(width);
    const int pitch = W + 2;
    const long plane = (long)(H + 2) * pitch, P = (long)H * W;
    float *xp = work, *gyt = work + planes_floats(C, H, W);
    pad_planes(x, C, H, W, xp);
    if (positions_path(H, W)) {
        /* dY in the padded-pitch layout, zero in the extra columns and the tail. */
        const long qpad = qpad_of(H, W);
        float *gyp = gyt;
        memset(gyp, 0, sizeof(float) * (size_t)(O * qpad));
        for (int o = 0; o < O; o++)
            for (int i = 0; i < H; i++)
                memcpy(gyp + o * qpad + (long)i * pitch, gy + ((long)o * H + i) * W, sizeof(float) * (size_t)W);
        k->dwq(xp, C, plane, pitch, gyp, qpad, O, dwpacked);
        return;
    }
    /* dY [O, P] -> [P, O], in blocks of 16 positions (reads and writes stay in cache). */
    for (long p0 = 0; p0 < P; p0 += 16) {
        long p1 = p0 + 16 < P ? p0 + 16 : P;
        for (int o = 0; o < O; o++)
            for (long p = p0; p < p1; p++) gyt[p * O + o] = gy[o * P + p];
    }
    k->dw(xp, C, plane, pitch, H, W, gyt, O, dwpacked);
}

void cil_conv3x3_unpack_weights(const float *wpacked, int O, int C, float *w) {
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < 9; t++) w[((long)o * C + c) * 9 + t] = wpacked[((long)c * 9 + t) * O + o];
}

long cil_winograd_workspace(int C, int O, int H, int W, int N) {
    int G, rb;
    wino_blocks(N, C, H, W, &G, &rb);
    const long ts = wino_block_tiles(G, rb, W);
    return 16 * (wino_pos_stride(C, ts) + wino_pos_stride(O, ts)) + 16; /* + 16: room to align to 64 bytes */
}

/* u = G g G^T for one 3x3 kernel g (row-major), G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1];
 * u[xi * stride] for xi = 4i + j. */
static void wino_transform_kernel(const float g[9], float *u, long stride) {
    float t[4][3];
    for (int v = 0; v < 3; v++) {
        t[0][v] = g[v];
        t[1][v] = 0.5f * (g[v] + g[3 + v] + g[6 + v]);
        t[2][v] = 0.5f * (g[v] - g[3 + v] + g[6 + v]);
        t[3][v] = g[6 + v];
    }
    for (int i = 0; i < 4; i++) {
        u[(4 * i + 0) * stride] = t[i][0];
        u[(4 * i + 1) * stride] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[(4 * i + 2) * stride] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[(4 * i + 3) * stride] = t[i][2];
    }
}

/* Applies a kernel transform (writing position xi at u[xi * stride]) to every 3x3
 * kernel of w [O][C][3][3]: u[xi][c][o], or for the input gradient (transposed) the
 * flipped kernels at u[xi][o][c]. */
static void pack_transformed(const float *w, int O, int C, int transposed, float *u,
                             void (*transform)(const float *, float *, long)) {
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
            const float *k = w + ((long)o * C + c) * 9;
            if (!transposed) {
                transform(k, u + (long)c * O + o, (long)C * O);
            } else {
                float f[9];
                for (int t = 0; t < 9; t++) f[t] = k[8 - t];
                transform(f, u + (long)o * C + c, (long)O * C);
            }
        }
}

void cil_winograd_pack_weights(const float *w, int O, int C, int transposed, float *u) {
    pack_transformed(w, O, C, transposed, u, wino_transform_kernel);
}

void cil_winograd_images(int width, const float *x, int N, int C, int H, int W, const float *u, int O,
                         float *y, float *work) {
    /* Rows of V and M start on cache lines (vectors of tiles then never split a line). */
    float *aligned = (float *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    kernels_of(width)->wino(x, N, C, H, W, u, O, y, aligned);
}

int cil_winograd_weight_grad_supported(int width, int O) {
    return O > 0 && O % kernels_of(width)->width == 0;
}

long cil_winograd_weight_grad_workspace(int C, int O, int H, int W, int N) {
    int G, rb;
    wino_blocks(N, C, H, W, &G, &rb);
    const long ts = wino_block_tiles(G, rb, W);
    return 16 * wino_pos_stride(C, ts) + 16 * (ts * O + 16) + (long)G * H * W * O + 16;
}

void cil_winograd_weight_grad_images(int width, const float *x, const float *gy, int N, int C, int H, int W, int O,
                                     float *du, float *work) {
    float *aligned = (float *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    kernels_of(width)->wino_dw(x, gy, N, C, H, W, O, du, aligned);
}

void cil_winograd_weight_grad_unpack(const float *du, int O, int C, float *w) {
    /* w[o, c] = G^T dU[c, o] G, G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1]. */
    static const float gt[3][4] = {{1, 0.5f, 0.5f, 0}, {0, 0.5f, -0.5f, 0}, {0, 0.5f, 0.5f, 1}};
    const long stride = (long)C * O;
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
            const float *d = du + (long)c * O + o;
            float t[3][4];
            for (int u = 0; u < 3; u++)
                for (int j = 0; j < 4; j++) {
                    float s = 0;
                    for (int i = 0; i < 4; i++) s += gt[u][i] * d[(4 * i + j) * stride];
                    t[u][j] = s;
                }
            float *k = w + ((long)o * C + c) * 9;
            for (int u = 0; u < 3; u++)
                for (int v = 0; v < 3; v++) {
                    float s = 0;
                    for (int j = 0; j < 4; j++) s += t[u][j] * gt[v][j];
                    k[3 * u + v] = s;
                }
        }
}

long cil_winograd43_workspace(int C, int O, int H, int W, int N) {
    int G, rb;
    w43_blocks(N, C, H, W, &G, &rb);
    return w43_layout_of(C, O, W, w43_block_tiles(G, rb, W)).total + 16; /* + 16: room to align to 64 bytes */
}

#define W43_PACK_RUN 64 /* kernels transformed together: one run of consecutive outputs of u */

/* u = G g G^T for every 3x3 kernel g of w [O][C][3][3], G the 6x3 Lavin-Gray matrix of
 * cil_kernels.h, computed in double. Position xi = 6i + j of kernel (o, c) goes to
 * u[xi][c][o], or for the input gradient (transposed) that of the flipped kernel to
 * u[xi][o][c]. Kernels are taken in runs whose outputs are consecutive in u (o for a
 * fixed c, or c for a fixed o), so the arithmetic runs down a run with unit stride and
 * vectorises; each value is the same expression, in the same order, as one kernel at
 * a time would compute. */
void cil_winograd43_pack_weights(const float *w, int O, int C, int transposed, float *u) {
    static const double G[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    const long stride = (long)C * O;
    const int outer = transposed ? O : C, inner = transposed ? C : O;
    double g[9][W43_PACK_RUN], t[6][3][W43_PACK_RUN];
    for (int a = 0; a < outer; a++)
        for (int b0 = 0; b0 < inner; b0 += W43_PACK_RUN) {
            const int n = inner - b0 < W43_PACK_RUN ? inner - b0 : W43_PACK_RUN;
            for (int r = 0; r < n; r++) {
                const int b = b0 + r;
                const float *k = transposed ? w + ((long)a * C + b) * 9 : w + ((long)b * C + a) * 9;
                for (int e = 0; e < 9; e++) g[e][r] = k[transposed ? 8 - e : e];
            }
            for (int i = 0; i < 6; i++)
                for (int v = 0; v < 3; v++)
                    for (int r = 0; r < n; r++)
                        t[i][v][r] = G[i][0] * g[v][r] + G[i][1] * g[3 + v][r] + G[i][2] * g[6 + v][r];
            float *run = u + (long)a * inner + b0;
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    float *out = run + (6 * i + j) * stride;
                    for (int r = 0; r < n; r++)
                        out[r] = (float)(t[i][0][r] * G[j][0] + t[i][1][r] * G[j][1] + t[i][2][r] * G[j][2]);
                }
        }
}

void cil_winograd43_images(int width, const float *x, int N, int C, int H, int W, const float *u, int O,
                           float *y, float *work) {
    float *aligned = (float *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    kernels_of(width)->wino43(x, N, C, H, W, u, O, y, aligned);
}
