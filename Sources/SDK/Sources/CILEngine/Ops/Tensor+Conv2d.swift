import CBLAS
import Foundation
import CKernels

// 2-D convolution (cross-correlation, no bias). 3x3 stride-1 padding-1 layers (most
// of a ResNet) run the Winograd kernel of CKernels forward and for both gradients
// where it measured faster (WinogradConv3x3.prefers; the output tile of
// WinogradConv3x3.forwardTileSize and tileSize), the direct kernel otherwise;
// every other geometry, and every weight gradient, runs per image: im2col into a
// column buffer that stays in cache, then one GEMM whose output is the image's NCHW
// slice. Images run in parallel (one single-threaded kernel per image and thread).

extension Tensor {
    /// y[n,o,i,j] = Σ_{c,u,v} w[o,c,u,v] · xpad[n,c,i·s+u, j·s+v], symmetric zero
    /// padding. x: [N, C, H, W], weight: [O, C, kH, kW] -> [N, O, H_out, W_out] with
    /// H_out = ⌊(H + 2p − kH)/s⌋ + 1. A frozen weight gets no gradient; the column
    /// matrices are recomputed in the backward pass instead of being kept. The weight
    /// gradient sums per-thread partial sums (in a fixed order for a given thread count).
    public static func conv2d(_ x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1],
                     "conv2d: input \(x.shape) and weight \(weight.shape) do not match (NCHW, OCkk)")
        precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride), padding \(padding)")
        let g = ConvGeometry(batch: x.shape[0], channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                             kernelH: weight.shape[2], kernelW: weight.shape[3], stride: stride, padding: padding)
        precondition(g.outH > 0 && g.outW > 0, "conv2d: kernel larger than padded input \(x.shape)")
        let O = weight.shape[0], K = g.patchSize, P = g.outPixels
        let inImage = g.channels * g.height * g.width, outImage = O * P
        let pointwise = g.kernelH == 1 && g.kernelW == 1 && stride == 1 && padding == 0
        let direct = DirectConv3x3.applies(to: g)
        // One kernel width for the whole op, forward and backward (see cil_kernels.h).
        let width = DirectConv3x3.vectorWidth
        let outShape = [g.batch, O, g.outH, g.outW]

        let y = TensorStorage(uninitializedCount: g.batch * outImage)
        let xp = UncheckedBox(x.storage.pointer), wp = UncheckedBox(weight.storage.pointer), yp = UncheckedBox(y.pointer)
        if direct && WinogradConv3x3.applies(to: g, inputChannels: g.channels, outputChannels: O) {
            WinogradConv3x3.run(batch: g.batch, height: g.height, width: g.width, vectorWidth: width,
                                input: x.storage.pointer, inputChannels: g.channels, weight: weight.storage.pointer,
                                outputChannels: O, transposed: false, output: y.pointer,
                                tile: WinogradConv3x3.forwardTileSize(height: g.height, width: g.width,
                                                                      recordsGradient: GradMode.isEnabled && (x.requiresGrad || weight.requiresGrad)))
        } else if direct {
            DirectConv3x3.run(g, width: width, input: x.storage.pointer, inputChannels: g.channels,
                              weight: weight.storage.pointer, outputChannels: O, transposed: false, output: y.pointer)
        } else {
            Parallel.forChunks(g.batch) { images in
                let col = pointwise ? nil : TensorStorage(uninitializedCount: K * P)
                for n in images {
                    let input = xp.value + n * inImage
                    if let col { Im2col.im2col(input, col.pointer, g) }
                    cil_sgemm(0, 0, Int32(O), Int32(P), Int32(K), 1, wp.value, Int32(K),
                              col?.pointer ?? input, Int32(P), 0, yp.value + n * outImage, Int32(P))
                }
            }
        }
        return result("conv2d", shape: outShape, storage: y, inputs: [x, weight]) { grad in
            let gp = UncheckedBox(grad.storage.pointer)
            let xp = UncheckedBox(x.storage.pointer), wp = UncheckedBox(weight.storage.pointer)
            let needW = weight.requiresGrad, needX = x.requiresGrad
            let gx = needX ? Tensor(uninitializedShape: x.shape) : nil
            if direct, let gx {
                // dx = conv3x3(gy) with the weights transposed and flipped.
                if WinogradConv3x3.applies(to: g, inputChannels: O, outputChannels: g.channels) {
                    WinogradConv3x3.run(batch: g.batch, height: g.height, width: g.width, vectorWidth: width,
                                        input: grad.storage.pointer, inputChannels: O, weight: weight.storage.pointer,
                                        outputChannels: g.channels, transposed: true, output: gx.storage.pointer)
                } else {
                    DirectConv3x3.run(g, width: width, input: grad.storage.pointer, inputChannels: O,
                                      weight: weight.storage.pointer, outputChannels: g.channels, transposed: true,
                                      output: gx.storage.pointer)
                }
            }
            let gxp = UncheckedBox(direct ? nil : gx?.storage.pointer)
            if needW && direct && WinogradConv3x3.appliesToWeightGradient(g, outputChannels: O, vectorWidth: width) {
                let gw = WinogradConv3x3.weightGradient(g, vectorWidth: width, input: x.storage.pointer,
                                                        outputGradient: grad.storage.pointer, outputChannels: O)
                return [gx, Tensor(shape: weight.shape, storage: gw)]
            }
            if needW && direct && DirectConv3x3.weightGradientSupported(g, width: width, outputChannels: O) {
                let gw = DirectConv3x3.weightGradient(g, width: width, input: x.storage.pointer,
                                                      outputGradient: grad.storage.pointer, outputChannels: O)
                return [gx, Tensor(shape: weight.shape, storage: gw)]
            }
            // One partial weight gradient per chunk of images.
            let workers = min(Parallel.threads, g.batch)
            let chunk = (g.batch + workers - 1) / workers
            let partials = needW ? TensorStorage(count: workers * O * K, repeating: 0) : nil
            let pp = UncheckedBox(partials?.pointer)
            if partials == nil && gxp.value == nil { return [gx, nil] }
            Parallel.forEach(workers) { w in
                let lo = w * chunk, hi = min(g.batch, lo + chunk)
                guard lo < hi else { return }
                let col = pointwise ? nil : TensorStorage(uninitializedCount: K * P)
                for n in lo..<hi {
                    let gy = gp.value + n * outImage
                    if needW, let partial = pp.value {
                        let input = xp.value + n * inImage
                        if let col { Im2col.im2col(input, col.pointer, g) }
                        // dW += gY_n [O, P] · col_nᵀ [P, K]
                        cil_sgemm(0, 1, Int32(O), Int32(K), Int32(P), 1, gy, Int32(P),
                                  col?.pointer ?? input, Int32(P), 1, partial + w * O * K, Int32(K))
                    }
                    if needX, let gxBase = gxp.value {
                        let dx = gxBase + n * inImage
                        if let col {
                            // dcol = Wᵀ [K, O] · gY_n [O, P], then back to the image.
                            cil_sgemm(1, 0, Int32(K), Int32(P), Int32(O), 1, wp.value, Int32(K), gy, Int32(P),
                                      0, col.pointer, Int32(P))
                            Im2col.col2im(col.pointer, dx, g)
                        } else {
                            cil_sgemm(1, 0, Int32(K), Int32(P), Int32(O), 1, wp.value, Int32(K), gy, Int32(P),
                                      0, dx, Int32(P))
                        }
                    }
                }
            }
            var gw: Tensor?
            if needW, let partials {
                sumPartials(partials, workers: workers, size: O * K)
                let out = Tensor(uninitializedShape: weight.shape)
                out.storage.pointer.update(from: partials.pointer, count: O * K)
                gw = out
            }
            return [gx, gw]
        }
    }
}

/// The direct 3x3 stride-1 padding-1 kernel of CKernels (see `cil_kernels.h`),
/// over a batch: weights packed once, images in parallel, one scratch per thread.
public enum DirectConv3x3 {
    /// Floats per vector of the kernels in use: 16 (AVX-512), 8 (AVX2 + FMA) or 4
    /// (generic); the widest this CPU runs unless `useVectorWidth` chose another.
    public static var vectorWidth: Int { Int(cil_conv3x3_vector_width()) }

    /// Switches to the kernels of `width` floats (16, 8 or 4); false if this CPU cannot
    /// run them. For tests that cover every kernel: a convolution already running keeps
    /// the width it started with.
    public static func useVectorWidth(_ width: Int) -> Bool { cil_conv3x3_use_width(Int32(width)) == 1 }

    /// False when the environment sets `CIL_DIRECT_CONV=0`: every convolution then
    /// takes the im2col + GEMM path (for A/B benchmarks, see docs/PERFORMANCE.md).
    public static let enabled = ProcessInfo.processInfo.environment["CIL_DIRECT_CONV"] != "0"

    /// Whether `g` is the geometry the kernel computes (and the kernel is enabled).
    static func applies(to g: ConvGeometry) -> Bool {
        enabled && g.kernelH == 3 && g.kernelW == 3 && g.stride == 1 && g.padding == 1
    }

    /// output[n] = conv3x3(input[n]) for every image n. `input`: [N, inputChannels, H, W],
    /// `output`: [N, outputChannels, H, W] (overwritten). `weight` is the layer's
    /// [O, C, 3, 3] tensor; `transposed` computes the input gradient (input = dY with
    /// inputChannels = O, output = dX with outputChannels = C).
    static func run(_ g: ConvGeometry, width: Int, input: UnsafePointer<Float>, inputChannels: Int,
                    weight: UnsafePointer<Float>, outputChannels: Int, transposed: Bool,
                    output: UnsafeMutablePointer<Float>) {
        let H = g.height, W = g.width
        let packed = TensorStorage(uninitializedCount: inputChannels * outputChannels * 9)
        if transposed {
            cil_conv3x3_pack_weights_transposed(weight, Int32(inputChannels), Int32(outputChannels), packed.pointer)
        } else {
            cil_conv3x3_pack_weights(weight, Int32(outputChannels), Int32(inputChannels), packed.pointer)
        }
        let workspace = cil_conv3x3_workspace(Int32(inputChannels), Int32(outputChannels), Int32(H), Int32(W))
        let inImage = inputChannels * H * W, outImage = outputChannels * H * W
        let box = UncheckedBox((input, UnsafePointer(packed.pointer), output))
        withExtendedLifetime(packed) {
            Parallel.forChunks(g.batch) { images in
                let (input, packed, output) = box.value
                let work = TensorStorage(uninitializedCount: workspace)
                withExtendedLifetime(work) {
                    for n in images {
                        cil_conv3x3_image(Int32(width), input + n * inImage, Int32(inputChannels), Int32(H), Int32(W), packed,
                                          Int32(outputChannels), output + n * outImage, work.pointer)
                    }
                }
            }
        }
    }

    /// Whether the weight-gradient kernel runs for this geometry (large images, or
    /// `outputChannels` a multiple of the vector width); otherwise the weight gradient
    /// takes the im2col + GEMM path.
    static func weightGradientSupported(_ g: ConvGeometry, width: Int, outputChannels: Int) -> Bool {
        cil_conv3x3_weight_grad_supported(Int32(width), Int32(outputChannels), Int32(g.height), Int32(g.width)) == 1
    }

    /// dW [O, C, 3, 3] = Σ_n Σ_{i,j} dY[n, o, i, j] · x[n, c, i + u − 1, j + v − 1]: one
    /// partial sum per chunk of images, added in chunk order (fixed for a thread count).
    static func weightGradient(_ g: ConvGeometry, width: Int, input: UnsafePointer<Float>,
                               outputGradient: UnsafePointer<Float>, outputChannels O: Int) -> TensorStorage {
        let C = g.channels, H = g.height, W = g.width, size = O * C * 9
        let workers = min(Parallel.threads, g.batch)
        let chunk = (g.batch + workers - 1) / workers
        let partials = TensorStorage(count: workers * size, repeating: 0)
        let workspace = cil_conv3x3_weight_grad_workspace(Int32(C), Int32(O), Int32(H), Int32(W))
        let box = UncheckedBox((input, outputGradient, partials.pointer))
        Parallel.forEach(workers) { w in
            let (x, gy, partials) = box.value
            let lo = w * chunk, hi = min(g.batch, lo + chunk)
            guard lo < hi else { return }
            let work = TensorStorage(uninitializedCount: workspace)
            withExtendedLifetime(work) {
                for n in lo..<hi {
                    cil_conv3x3_weight_grad_image(Int32(width), x + n * C * H * W, gy + n * O * H * W, Int32(C), Int32(H), Int32(W),
                                                  Int32(O), partials + w * size, work.pointer)
                }
            }
        }
        sumPartials(partials, workers: workers, size: size)
        let gw = TensorStorage(uninitializedCount: size)
        withExtendedLifetime(partials) { cil_conv3x3_unpack_weights(partials.pointer, Int32(O), Int32(C), gw.pointer) }
        return gw
    }
}

/// Adds the per-worker partial sums (`workers` slices of `size` floats) into the first
/// slice, in worker order, so the result is fixed for a given thread count.
func sumPartials(_ partials: TensorStorage, workers: Int, size: Int) {
    let sum = partials.pointer
    for w in 1..<max(workers, 1) {
        let src = partials.pointer + w * size
        for i in 0..<size { sum[i] += src[i] }
    }
}
