/* Element-wise and per-channel reduction kernels: see include/cil_kernels.h. The
 * reductions keep 16 partial sums (one per lane of a 16-float vector) so that they
 * vectorise; the lanes are added at the end, in a fixed order. */
#include "cil_kernels.h"

/* The package builds for the baseline x86-64 (SSE2); each exported kernel here is
 * also compiled for AVX2 and AVX-512, and the loader picks the widest the CPU runs
 * (an ifunc). The results may differ in the last bits between the versions (fused
 * multiply-adds); a run is always on one machine. */
#if defined(__x86_64__) && defined(__linux__)
#define CIL_WIDEST __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define CIL_WIDEST
#endif

typedef float v16 __attribute__((vector_size(64), aligned(4)));

static inline __attribute__((always_inline)) float lanes_sum(const v16 *v) {
    float s = 0;
    for (int i = 0; i < 16; i++) s += (*v)[i];
    return s;
}

CIL_WIDEST float cil_sum(const float *p, long n) {
    v16 acc = {};
    long i = 0;
    for (; i + 16 <= n; i += 16) acc += *(const v16 *)(p + i);
    float s = lanes_sum(&acc);
    for (; i < n; i++) s += p[i];
    return s;
}

CIL_WIDEST float cil_dot(const float *a, const float *b, long n) {
    v16 acc = {};
    long i = 0;
    for (; i + 16 <= n; i += 16) acc += *(const v16 *)(a + i) * *(const v16 *)(b + i);
    float s = lanes_sum(&acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

CIL_WIDEST float cil_sum_squared_deviation(const float *p, long n, float mean) {
    v16 acc = {};
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 d = *(const v16 *)(p + i) - mean;
        acc += d * d;
    }
    float s = lanes_sum(&acc);
    for (; i < n; i++) s += (p[i] - mean) * (p[i] - mean);
    return s;
}

CIL_WIDEST void cil_sum_product_deviation(const float *g, const float *x, long n, float mean, float *sum_g, float *sum_gx) {
    v16 a = {}, b = {};
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 gv = *(const v16 *)(g + i);
        a += gv;
        b += gv * (*(const v16 *)(x + i) - mean);
    }
    float sa = lanes_sum(&a), sb = lanes_sum(&b);
    for (; i < n; i++) { sa += g[i]; sb += g[i] * (x[i] - mean); }
    *sum_g = sa;
    *sum_gx = sb;
}

typedef int v16i __attribute__((vector_size(64), aligned(4)));

CIL_WIDEST void cil_relu_forward(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v = *(const v16 *)(x + i);
        v16i keep = ~(v <= 0); /* all ones where x > 0 or x is NaN */
        *(v16 *)(y + i) = (v16)((v16i)v & keep);
    }
    for (; i < n; i++) y[i] = x[i] <= 0 ? 0 : x[i]; /* NaN stays NaN */
}

CIL_WIDEST void cil_relu_backward(const float *y, const float *g, float *dx, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16i keep = ~(*(const v16 *)(y + i) <= 0);
        *(v16 *)(dx + i) = (v16)((v16i) * (const v16 *)(g + i) & keep);
    }
    for (; i < n; i++) dx[i] = y[i] <= 0 ? 0 : g[i]; /* as PyTorch's threshold_backward */
}

/* ---- Fused batch norm / ReLU / residual kernels ---- */

/* g where y > 0 or y is NaN, else +0: the mask of cil_relu_backward, as bits (a macro:
 * a function returning a 64-byte vector would change the ABI without AVX-512). */
#define masked_by(g, y) ((v16)((v16i) * (const v16 *)(g) & ~(*(const v16 *)(y) <= 0)))

CIL_WIDEST void cil_plane_moments(const float *p, long n, float *sum, float *mean, float *m2) {
    float s = cil_sum(p, n);
    float m = s / (float)n;
    *sum = s;
    *mean = m;
    *m2 = cil_sum_squared_deviation(p, n, m);
}

CIL_WIDEST void cil_sum_product_deviation_relu(const float *g, const float *x, const float *y, long n, float mean,
                                    float *sum_g, float *sum_gx) {
    v16 a = {}, b = {};
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 gv = masked_by(g + i, y + i);
        a += gv;
        b += gv * (*(const v16 *)(x + i) - mean);
    }
    float sa = lanes_sum(&a), sb = lanes_sum(&b);
    for (; i < n; i++) {
        float gi = y[i] <= 0 ? 0 : g[i];
        sa += gi;
        sb += gi * (x[i] - mean);
    }
    *sum_g = sa;
    *sum_gx = sb;
}

CIL_WIDEST void cil_batch_norm_dx(const float *g, const float *x, const float *y, long n, float k, float mean,
                       float inv_std, float mg, float mgx, float *dx) {
    long i = 0;
    if (y) {
        for (; i + 16 <= n; i += 16) {
            v16 xh = (*(const v16 *)(x + i) - mean) * inv_std;
            *(v16 *)(dx + i) = k * (masked_by(g + i, y + i) - mg - xh * mgx);
        }
        for (; i < n; i++) {
            float gi = y[i] <= 0 ? 0 : g[i];
            dx[i] = k * (gi - mg - (x[i] - mean) * inv_std * mgx);
        }
    } else {
        for (; i + 16 <= n; i += 16) {
            v16 xh = (*(const v16 *)(x + i) - mean) * inv_std;
            *(v16 *)(dx + i) = k * (*(const v16 *)(g + i) - mg - xh * mgx);
        }
        for (; i < n; i++) dx[i] = k * (g[i] - mg - (x[i] - mean) * inv_std * mgx);
    }
}

CIL_WIDEST void cil_scale_relu_backward(const float *g, const float *y, long n, float k, float *dx) {
    long i = 0;
    if (y) {
        for (; i + 16 <= n; i += 16) *(v16 *)(dx + i) = k * masked_by(g + i, y + i);
        for (; i < n; i++) dx[i] = k * (y[i] <= 0 ? 0 : g[i]);
    } else {
        for (; i + 16 <= n; i += 16) *(v16 *)(dx + i) = k * *(const v16 *)(g + i);
        for (; i < n; i++) dx[i] = k * g[i];
    }
}

CIL_WIDEST void cil_add_relu_forward(const float *a, const float *b, float *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v = *(const v16 *)(a + i) + *(const v16 *)(b + i);
        v16i keep = ~(v <= 0);
        *(v16 *)(y + i) = (v16)((v16i)v & keep);
    }
    for (; i < n; i++) { float v = a[i] + b[i]; y[i] = v <= 0 ? 0 : v; }
}

CIL_WIDEST void cil_affine_add_relu_forward(const float *x, const float *r, float *y, long n, float a, float shift) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v = (*(const v16 *)(x + i) * a + shift) + *(const v16 *)(r + i);
        v16i keep = ~(v <= 0);
        *(v16 *)(y + i) = (v16)((v16i)v & keep);
    }
    for (; i < n; i++) { float v = (x[i] * a + shift) + r[i]; y[i] = v <= 0 ? 0 : v; }
}

CIL_WIDEST void cil_affine_forward(const float *x, float *y, long n, float a, float shift, int relu) {
    long i = 0;
    if (relu) {
        for (; i + 16 <= n; i += 16) {
            v16 v = *(const v16 *)(x + i) * a + shift;
            v16i keep = ~(v <= 0);
            *(v16 *)(y + i) = (v16)((v16i)v & keep);
        }
        for (; i < n; i++) { float v = x[i] * a + shift; y[i] = v <= 0 ? 0 : v; }
    } else {
        for (; i + 16 <= n; i += 16) *(v16 *)(y + i) = *(const v16 *)(x + i) * a + shift;
        for (; i < n; i++) y[i] = x[i] * a + shift;
    }
}

typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* The second load starts one float early (at src[2j + 2V - 1]) so that no read goes
 * past src[2n - 2]; its odd lanes are the even elements wanted. */
CIL_WIDEST void cil_gather_even(const float *src, float *dst, long n) {
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        v16 a = *(const v16 *)(src + 2 * j), b = *(const v16 *)(src + 2 * j + 15);
        *(v16 *)(dst + j) = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
    }
    for (; j + 8 <= n; j += 8) {
        v8 a = *(const v8 *)(src + 2 * j), b = *(const v8 *)(src + 2 * j + 7);
        *(v8 *)(dst + j) = __builtin_shufflevector(a, b, 0, 2, 4, 6, 9, 11, 13, 15);
    }
    for (; j < n; j++) dst[j] = src[2 * j];
}
