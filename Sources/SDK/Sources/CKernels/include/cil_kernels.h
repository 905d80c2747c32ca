#ifndef CIL_KERNELS_H
#define CIL_KERNELS_H

/* Hand-vectorised kernels of the engine (see docs/PERFORMANCE.md).
 *
 * Direct 3x3 convolution, stride 1, zero padding 1, of ONE image in NCHW:
 *   y[o, i, j] = sum_{c, u, v} w[o, c, u, v] * x[c, i + u - 1, j + v - 1]
 * computed without an im2col matrix: the image is copied once into a zero-padded
 * plane per channel of pitch W + 2, and every output row is read as a contiguous
 * run of that pitch, so that a tap (u, v) is a constant offset u (W + 2) + v. The
 * two extra columns per row are computed and dropped.
 *
 * The weights are given packed as wpacked[(c * 9 + u * 3 + v) * O + o] (see
 * cil_conv3x3_pack_weights); the backward pass of the input uses the same kernel
 * with the weights packed transposed and flipped (cil_conv3x3_pack_weights_transposed).
 */

#ifdef __cplusplus
extern "C" {
#endif

/* Vector width in floats of the kernels in use (16 AVX-512, 8 AVX2, 4 generic): the
 * widest this CPU runs unless cil_conv3x3_use_width chose another. The kernel entry
 * points take this width as their first argument, so that one convolution (its
 * support check and all its calls) uses one kernel set even if a test switches
 * widths meanwhile; a width the CPU cannot run means the set in use. */
int cil_conv3x3_vector_width(void);

/* Switches to the kernels of `width` floats (16, 8 or 4) if this CPU runs them;
 * returns 1 if it did, 0 if not. For tests (atomic; calls in flight keep their width). */
int cil_conv3x3_use_width(int width);

/* Floats of scratch one call of cil_conv3x3_image needs (one buffer per thread). */
long cil_conv3x3_workspace(int C, int O, int H, int W);

/* wpacked[(c*9 + t)*O + o] = w[o, c, t] for w: [O, C, 3, 3]. */
void cil_conv3x3_pack_weights(const float *w, int O, int C, float *wpacked);

/* The weights of the input-gradient convolution, whose input channels are the O
 * output channels: wpacked[(o*9 + t)*C + c] = w[o, c, 8 - t]. */
void cil_conv3x3_pack_weights_transposed(const float *w, int O, int C, float *wpacked);

/* y: [O, H, W] (overwritten) = conv3x3(x: [C, H, W]) with packed weights; `work`
 * holds cil_conv3x3_workspace(C, O, H, W) floats. */
void cil_conv3x3_image(int width, const float *x, int C, int H, int W, const float *wpacked, int O,
                       float *y, float *work);

/* Weight gradient of the direct kernel, for the shapes where
 * cil_conv3x3_weight_grad_supported (large images, or O a multiple of the vector
 * width): dwpacked[(c*9 + t)*O + o] += sum over the
 * image's positions of dY[o, i, j] * x[c, i + u - 1, j + v - 1] (t = 3u + v). x: [C, H,
 * W], gy: [O, H, W]; `work` holds cil_conv3x3_weight_grad_workspace(C, O, H, W) floats. */
int cil_conv3x3_weight_grad_supported(int width, int O, int H, int W);
long cil_conv3x3_weight_grad_workspace(int C, int O, int H, int W);
void cil_conv3x3_weight_grad_image(int width, const float *x, const float *gy, int C, int H, int W, int O,
                                   float *dwpacked, float *work);

/* w[o, c, t] = wpacked[(c*9 + t)*O + o]: the inverse of cil_conv3x3_pack_weights. */
void cil_conv3x3_unpack_weights(const float *wpacked, int O, int C, float *w);

/* Winograd F(2x2, 3x3) convolution, stride 1, zero padding 1, of N images in NCHW:
 * the same y as cil_conv3x3_image, from 2x2 output tiles computed as
 *   Y_t = A^T [ sum_c U[c] (.) (B^T d_{c,t} B) ] A
 * (d_{c,t} the 4x4 patch of the zero-padded channel c under tile t, (.) elementwise),
 * i.e. 16 products of 4x4 per tile and channel pair instead of 36. Odd H or W: the
 * last tile row / column reads zero padding and writes only the outputs inside. The
 * rounding differs from the direct kernel (see docs/PERFORMANCE.md for the measured
 * error). Tiles run in blocks: whole tile rows of one image (about 256 KiB of
 * transformed input), or several images of fewer than 16 tiles each.
 *
 * cil_winograd_pack_weights: u[(xi*Cin + c)*Cout + o] = (G g G^T)[xi], xi = 4i + j,
 * 16 * O * C floats, for g the 3x3 kernel of output channel o and input channel c.
 * Forward (transposed = 0): g = w[o, c] with Cin = C, Cout = O. Input gradient
 * (transposed = 1): the convolution of dY (Cin = O) to dX (Cout = C) with
 * g = w[o, c] flipped (g[t] = w[o, c, 8 - t]). w: [O, C, 3, 3].
 *
 * cil_winograd_images: y [N, O, H, W] (overwritten) = conv3x3(x [N, C, H, W]) with the
 * transformed weights u of Cin = C, Cout = O; `work` holds cil_winograd_workspace(C, O,
 * H, W, N) floats (one buffer per thread; calls on different buffers are independent).
 * `width` as for cil_conv3x3_image. */
long cil_winograd_workspace(int C, int O, int H, int W, int N);
void cil_winograd_pack_weights(const float *w, int O, int C, int transposed, float *u);
void cil_winograd_images(int width, const float *x, int N, int C, int H, int W, const float *u, int O,
                         float *y, float *work);

/* Winograd F(4x4, 3x3): as cil_winograd_*, with 4x4 output tiles from 6x6 patches
 * (stride 4), 36 products per tile and channel pair (2.25 per output instead of 4),
 *   Y_t = A^T [ sum_c U[c] (.) (B^T d_{c,t} B) ] A,
 * with the Lavin-Gray matrices
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * Any H, W >= 1: the last tile row / column reads zero padding and writes only the
 * outputs inside. The rounding error is larger than F(2x2)'s (docs/PERFORMANCE.md).
 * cil_winograd43_pack_weights: u[(xi*Cin + c)*Cout + o] = (G g G^T)[xi], xi = 6i + j,
 * 36 * O * C floats, `transposed` as for cil_winograd_pack_weights.
 * cil_winograd43_images: y [N, O, H, W] (overwritten) = conv3x3(x [N, C, H, W]); `work`
 * holds cil_winograd43_workspace(C, O, H, W, N) floats (one buffer per thread). */
long cil_winograd43_workspace(int C, int O, int H, int W, int N);
void cil_winograd43_pack_weights(const float *w, int O, int C, int transposed, float *u);
void cil_winograd43_images(int width, const float *x, int N, int C, int H, int W, const float *u, int O,
                           float *y, float *work);

/* Winograd weight gradient, for O a multiple of the vector width
 * (cil_winograd_weight_grad_supported): du [16][C][O] += sum over the N images and their
 * tiles t of V[xi][c][t] * (A dY_t A^T)[xi][o] (V the input transform of x, as in the
 * forward pass; A dY_t A^T the transposed output transform of the 2x2 tile t of gy).
 * x: [N, C, H, W], gy: [N, O, H, W]; `work` holds
 * cil_winograd_weight_grad_workspace(C, O, H, W, N) floats. Then
 * cil_winograd_weight_grad_unpack gives w [O, C, 3, 3] = G^T du[c, o] G, the gradient
 * of the weights (the transform is linear: partial sums of du may be added first). */
int cil_winograd_weight_grad_supported(int width, int O);
long cil_winograd_weight_grad_workspace(int C, int O, int H, int W, int N);
void cil_winograd_weight_grad_images(int width, const float *x, const float *gy, int N, int C, int H, int W, int O,
                                     float *du, float *work);
void cil_winograd_weight_grad_unpack(const float *du, int O, int C, float *w);

/* Reductions of n floats, with 16 partial sums (vectorised; a fixed order):
 * sum p; sum a b; sum (p - mean)^2; and sum g with sum g (x - mean). */
float cil_sum(const float *p, long n);
float cil_dot(const float *a, const float *b, long n);
float cil_sum_squared_deviation(const float *p, long n, float mean);
void cil_sum_product_deviation(const float *g, const float *x, long n, float mean, float *sum_g, float *sum_gx);

/* y = max(x, 0) (NaN stays NaN); and its backward dx = 0 where y <= 0, else g (y > 0
 * exactly when x > 0, so the output stands in for the input). */
void cil_relu_forward(const float *x, float *y, long n);
void cil_relu_backward(const float *y, const float *g, float *dx, long n);

/* Fused batch norm / ReLU / residual kernels. Wherever y is given it is a ReLU output
 * and the gradient g is masked on the fly exactly as cil_relu_backward does (g' = 0
 * where y <= 0, else g; a NaN output passes g), so no masked copy is written.
 *
 * cil_plane_moments: one plane of n floats read twice while it is in cache: its sum,
 * the float mean m = sum / n and m2 = sum (p - m)^2 (with the reductions above).
 * cil_sum_product_deviation_relu: cil_sum_product_deviation of g' (y != NULL).
 * cil_batch_norm_dx: dx = k (g' - mg - (x - mean) inv_std mgx); g' = g when y == NULL.
 * cil_scale_relu_backward: dx = k g' (evaluation-mode batch norm); g' = g when y == NULL.
 * cil_add_relu_forward: y = max(a + b, 0) (NaN stays NaN).
 * cil_affine_add_relu_forward: y = max((x a + shift) + r, 0) (NaN stays NaN). */
void cil_plane_moments(const float *p, long n, float *sum, float *mean, float *m2);
void cil_sum_product_deviation_relu(const float *g, const float *x, const float *y, long n, float mean,
                                    float *sum_g, float *sum_gx);
void cil_batch_norm_dx(const float *g, const float *x, const float *y, long n, float k, float mean,
                       float inv_std, float mg, float mgx, float *dx);
void cil_scale_relu_backward(const float *g, const float *y, long n, float k, float *dx);
void cil_add_relu_forward(const float *a, const float *b, float *y, long n);
void cil_affine_add_relu_forward(const float *x, const float *r, float *y, long n, float a, float shift);
/* y = x a + shift, then max(., 0) when relu != 0 (NaN stays NaN): batch norm's output
 * pass without a residual. */
void cil_affine_forward(const float *x, float *y, long n, float a, float shift, int relu);
/* dst[j] = src[2j] for j < n (reads src[0 .. 2n-2] only): im2col's stride-2 rows. */
void cil_gather_even(const float *src, float *dst, long n);

#ifdef __cplusplus
}
#endif
#endif
