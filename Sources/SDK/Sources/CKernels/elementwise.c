/* Element-wise and per-channel reduction kernels: see include/cil_kernels.h. The
 * reductions keep 16 partial sums (one per lane of a 16-float vector) so that they
 * vectorise; the lanes are added at the end, in a fixed order. */
#include "cil_kernels.h"

typedef float v16 __attribute__((vector_size(64), aligned(4)));

static float lanes_sum(const v16 *v) {
    float s = 0;
    for (int i = 0; i < 16; i++) s += (*v)[i];
    return s;
}

float cil_sum(const float *p, long n) {
    v16 acc = {};
    long i = 0;
    for (; i + 16 <= n; i += 16) acc += *(const v16 *)(p + i);
    float s = lanes_sum(&acc);
    for (; i < n; i++) s += p[i];
    return s;
}

float cil_sum_squared_deviation(const float *p, long n, float mean) {
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

void cil_sum_product_deviation(const float *g, const float *x, long n, float mean, float *sum_g, float *sum_gx) {
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

void cil_relu_forward(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v = *(const v16 *)(x + i);
        v16i keep = ~(v <= 0); /* all ones where x > 0 or x is NaN */
        *(v16 *)(y + i) = (v16)((v16i)v & keep);
    }
    for (; i < n; i++) y[i] = x[i] <= 0 ? 0 : x[i]; /* NaN stays NaN */
}

void cil_relu_backward(const float *y, const float *g, float *dx, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v16i keep = ~(*(const v16 *)(y + i) <= 0);
        *(v16 *)(dx + i) = (v16)((v16i) * (const v16 *)(g + i) & keep);
    }
    for (; i < n; i++) dx[i] = y[i] <= 0 ? 0 : g[i]; /* as PyTorch's threshold_backward */
}
