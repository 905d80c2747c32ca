import Foundation
import CKernels

/// The Winograd kernels of CKernels (see `cil_kernels.h`) for 3×3 stride-1 padding-1
/// convolutions over a batch: weights transformed once per call, each thread's chunk of
/// images in one kernel call with its own scratch. They compute the same function as
/// `DirectConv3x3.run` with fewer multiplications plus the input and output transforms:
/// F(2×2, 3×3) (16 instead of 36 per 2×2 output tile and channel pair) forward, input
/// gradient and weight gradient; F(4×4, 3×3) (36 instead of 144 per 4×4 tile) for the
/// input gradient and for forward passes that record no gradient, picked per shape by
/// `tileSize` and `forwardTileSize`. The rounding differs (see docs/PERFORMANCE.md for
/// the measured errors).
public enum WinogradConv3x3 {
    /// How the environment variable `CIL_WINOGRAD` sets the kernel's use.
    enum Mode: Sendable {
        /// `CIL_WINOGRAD=0`: never (every 3×3 stride-1 padding-1 layer runs the direct kernel).
        case off
        /// Unset (or any other value): the shapes of `prefers(inputChannels:outputChannels:height:width:)`.
        case measured
        /// `CIL_WINOGRAD=all`: every shape the direct kernel takes (for A/B measurements).
        case all
    }

    static let mode: Mode = {
        switch ProcessInfo.processInfo.environment["CIL_WINOGRAD"] {
        case "0": .off
        case "all": .all
        default: .measured
        }
    }()

    /// False when the environment sets `CIL_WINOGRAD=0`.
    public static var enabled: Bool { mode != .off }

    /// Where the kernel runs, for reports: "off" (`CIL_WINOGRAD=0`), "measured" (the
    /// shapes of `prefers`, the default) or "all" (`CIL_WINOGRAD=all`).
    public static var setting: String {
        switch mode {
        case .off: "off"
        case .measured: "measured"
        case .all: "all"
        }
    }

    /// How the environment variable `CIL_WINOGRAD_TILE` sets the output tile of the
    /// forward pass and the input gradient: "2" F(2×2, 3×3) everywhere, "4" F(4×4, 3×3)
    /// everywhere (training forward passes too), unset (or any other value)
    /// `forwardTileSize` and `tileSize`. The weight gradient always runs F(2×2).
    static let tileOverride: Int? = {
        switch ProcessInfo.processInfo.environment["CIL_WINOGRAD_TILE"] {
        case "2": 2
        case "4": 4
        default: nil
        }
    }()

    /// The output tile side, for reports: "2", "4" (`CIL_WINOGRAD_TILE`) or "measured"
    /// (the default: `forwardTileSize` and `tileSize`).
    public static var tileSetting: String { tileOverride.map(String.init) ?? "measured" }

    /// Where F(4×4, 3×3) measured faster than F(2×2, 3×3) on this machine
    /// (docs/PERFORMANCE.md, "Winograd F(4×4, 3×3)"): both sides multiples of 4 (no
    /// partial tiles) and at least 8. ResNet-32's stage shapes (16, 32 and 64 channels at
    /// 32×32, 16×16 and 8×8) all qualify: the kernel alone, one thread, 64 images,
    /// 1.37-1.46×, 1.55-1.72× and 1.61-1.75× F(2×2)'s speed; a training step 1.11× plain
    /// and 1.11× dual. Other sizes were not measured and keep F(2×2).
    public static func prefersLargeTiles(height: Int, width: Int) -> Bool {
        height >= 8 && width >= 8 && height % 4 == 0 && width % 4 == 0
    }

    /// The output tile side (2 or 4) of the input gradient, and of a forward pass that
    /// records no gradient, at this image size: `CIL_WINOGRAD_TILE` if set, else
    /// `prefersLargeTiles`.
    public static func tileSize(height: Int, width: Int) -> Int {
        tileOverride ?? (prefersLargeTiles(height: height, width: width) ? 4 : 2)
    }

    /// The output tile side of a forward pass: `tileSize`, except that a forward pass
    /// that records a gradient (training) runs F(2×2) unless `CIL_WINOGRAD_TILE` is set.
    /// F(4×4)'s forward rounding (about 10× F(2×2)'s) is amplified by batch norm's
    /// strongly cancelling sums: in the lock-step tests against the original code
    /// (Tests/BaselineTests/LockStep) it puts the step-1 batch-norm gradients 3.1-3.8×
    /// the original's own float32 error off the exact ones and the loss of step 3 past
    /// the trajectory bound, while F(4×4) in the input gradient and in evaluation passes.
    public static func forwardTileSize(height: Int, width: Int, recordsGradient: Bool) -> Int {
        if let tile = tileOverride { return tile }
        return recordsGradient ? 2 : tileSize(height: height, width: width)
    }

    /// The shapes where Winograd measured faster than the direct kernel on this
    /// machine (docs/PERFORMANCE.md, "Winograd"): at least 16 input and 16 output
    /// channels and an image of at least 8×8. ResNet-32's stride-1 stage convolutions
    /// (16, 32 and 64 channels at 32×32, 16×16 and 8×8) qualify: 1.3-2.0× forward and
    /// 1.3-1.8× for the weight gradient, one thread. The stem (3 → 16 channels at 32×32)
    /// does not: 0.89× forward and 0.7-0.8× for the weight gradient, its transforms costing
    /// as much as its few products. Smaller images and channel counts were not measured.
    public static func prefers(inputChannels: Int, outputChannels: Int, height: Int, width: Int) -> Bool {
        inputChannels >= 16 && outputChannels >= 16 && height >= 8 && width >= 8
    }

    /// Whether a 3×3 stride-1 padding-1 convolution of `g`'s images from
    /// `inputChannels` to `outputChannels` runs this kernel (the direct kernel's
    /// geometry, and `mode` with `prefers`).
    static func applies(to g: ConvGeometry, inputChannels: Int, outputChannels: Int) -> Bool {
        guard DirectConv3x3.applies(to: g) else { return false }
        switch mode {
        case .off: return false
        case .all: return true
        case .measured:
            return prefers(inputChannels: inputChannels, outputChannels: outputChannels, height: g.height, width: g.width)
        }
    }

    /// output[n] = conv3x3(input[n]) for every image n, stride 1, zero padding 1.
    /// `input`: [N, inputChannels, H, W], `output`: [N, outputChannels, H, W]
    /// (overwritten). `weight` is the layer's [O, C, 3, 3] tensor; `transposed` computes
    /// the input gradient (input = dY with inputChannels = O, output = dX with
    /// outputChannels = C, weights transposed and flipped). `width` picks the kernel set
    /// (as `DirectConv3x3.vectorWidth`); `tile` the output tile side, 2 or 4 (nil:
    /// `tileSize`). Thread-safe: the transformed weights are shared read-only, the scratch
    /// is per chunk.
    static func run(batch: Int, height H: Int, width W: Int, vectorWidth width: Int, input: UnsafePointer<Float>,
                    inputChannels: Int, weight: UnsafePointer<Float>, outputChannels: Int, transposed: Bool,
                    output: UnsafeMutablePointer<Float>, tile: Int? = nil) {
        let large = (tile ?? tileSize(height: H, width: W)) == 4
        precondition(tile == nil || tile == 2 || tile == 4, "Winograd: output tile \(tile ?? 0), not 2 or 4")
        let u = TensorStorage(uninitializedCount: (large ? 36 : 16) * inputChannels * outputChannels)
        let (O, C) = transposed ? (inputChannels, outputChannels) : (outputChannels, inputChannels)
        if large {
            cil_winograd43_pack_weights(weight, Int32(O), Int32(C), transposed ? 1 : 0, u.pointer)
        } else {
            cil_winograd_pack_weights(weight, Int32(O), Int32(C), transposed ? 1 : 0, u.pointer)
        }
        let inImage = inputChannels * H * W, outImage = outputChannels * H * W
        let box = UncheckedBox((input, UnsafePointer(u.pointer), output))
        withExtendedLifetime(u) {
            Parallel.forChunks(batch) { images in
                let (input, u, output) = box.value
                let (C, O, n) = (Int32(inputChannels), Int32(outputChannels), Int32(images.count))
                let workspace = large ? cil_winograd43_workspace(C, O, Int32(H), Int32(W), n)
                                      : cil_winograd_workspace(C, O, Int32(H), Int32(W), n)
                let work = TensorStorage(uninitializedCount: workspace)
                let x = input + images.lowerBound * inImage, y = output + images.lowerBound * outImage
                withExtendedLifetime(work) {
                    if large {
                        cil_winograd43_images(Int32(width), x, n, C, Int32(H), Int32(W), u, O, y, work.pointer)
                    } else {
                        cil_winograd_images(Int32(width), x, n, C, Int32(H), Int32(W), u, O, y, work.pointer)
                    }
                }
            }
        }
    }

    /// Whether the weight gradient of a 3×3 stride-1 padding-1 convolution of `g`'s
    /// images to `outputChannels` runs this kernel: as `applies`, and `outputChannels` a
    /// multiple of the vector width (the products run vectors over output channels).
    static func appliesToWeightGradient(_ g: ConvGeometry, outputChannels: Int, vectorWidth: Int) -> Bool {
        applies(to: g, inputChannels: g.channels, outputChannels: outputChannels)
            && cil_winograd_weight_grad_supported(Int32(vectorWidth), Int32(outputChannels)) == 1
    }

    /// dW [O, C, 3, 3] = Σ_n Σ_{i,j} dY[n, o, i, j] · x[n, c, i + u − 1, j + v − 1], computed
    /// in the Winograd domain (dU = Σ_tiles V ⊙ A dY A^T, then dW = G^T dU G): one partial
    /// dU per chunk of images, added in chunk order (fixed for a thread count), then
    /// transformed once. `input`: [N, C, H, W], `outputGradient`: [N, O, H, W]; O a
    /// multiple of the vector width (`appliesToWeightGradient`).
    static func weightGradient(_ g: ConvGeometry, vectorWidth width: Int, input: UnsafePointer<Float>,
                               outputGradient: UnsafePointer<Float>, outputChannels O: Int) -> TensorStorage {
        let C = g.channels, H = g.height, W = g.width, size = 16 * C * O
        let workers = min(Parallel.threads, g.batch)
        let chunk = (g.batch + workers - 1) / workers
        let partials = TensorStorage(count: workers * size, repeating: 0)
        let box = UncheckedBox((input, outputGradient, partials.pointer))
        Parallel.forEach(workers) { w in
            let (x, gy, partials) = box.value
            let lo = w * chunk, hi = min(g.batch, lo + chunk)
            guard lo < hi else { return }
            let workspace = cil_winograd_weight_grad_workspace(Int32(C), Int32(O), Int32(H), Int32(W), Int32(hi - lo))
            let work = TensorStorage(uninitializedCount: workspace)
            withExtendedLifetime(work) {
                cil_winograd_weight_grad_images(Int32(width), x + lo * C * H * W, gy + lo * O * H * W, Int32(hi - lo),
                                                Int32(C), Int32(H), Int32(W), Int32(O), partials + w * size, work.pointer)
            }
        }
        sumPartials(partials, workers: workers, size: size)
        let gw = TensorStorage(uninitializedCount: O * C * 9)
        withExtendedLifetime(partials) { cil_winograd_weight_grad_unpack(partials.pointer, Int32(O), Int32(C), gw.pointer) }
        return gw
    }

    /// y = conv3x3(x) by this kernel whatever `CIL_WINOGRAD` says, without autograd:
    /// x [N, C, H, W], weight [O, C, 3, 3] → [N, O, H, W], stride 1, zero padding 1.
    /// `vectorWidth` as in `DirectConv3x3.vectorWidth` (a width this CPU cannot run means
    /// the one in use); `tile` the output tile side, 2 or 4 (nil: `tileSize`). For tests and
    /// measurements; `Tensor.conv2d` picks the kernel itself.
    public static func forward(_ x: Tensor, weight: Tensor, vectorWidth: Int = DirectConv3x3.vectorWidth,
                               tile: Int? = nil) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4 && weight.shape[1] == x.shape[1]
                         && weight.shape[2] == 3 && weight.shape[3] == 3,
                     "Winograd forward: input \(x.shape) and weight \(weight.shape) do not match (NCHW, OC33)")
        let (N, C, H, W, O) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], weight.shape[0])
        let y = TensorStorage(uninitializedCount: N * O * H * W)
        run(batch: N, height: H, width: W, vectorWidth: vectorWidth, input: x.storage.pointer, inputChannels: C,
            weight: weight.storage.pointer, outputChannels: O, transposed: false, output: y.pointer, tile: tile)
        return Tensor(shape: [N, O, H, W], storage: y)
    }

    /// dW [O, C, 3, 3] of y = conv3x3(x, weight) for x [N, C, H, W] and an output gradient
    /// gy [N, O, H, W], by this kernel and without autograd; O must be a multiple of
    /// `vectorWidth` (see `appliesToWeightGradient`).
    public static func weightGradient(_ x: Tensor, outputGradient gy: Tensor,
                                      vectorWidth: Int = DirectConv3x3.vectorWidth) -> Tensor {
        precondition(x.rank == 4 && gy.rank == 4 && x.shape[0] == gy.shape[0] && x.shape[2...] == gy.shape[2...],
                     "Winograd weight gradient: input \(x.shape) and gradient \(gy.shape) do not match (NCHW)")
        let O = gy.shape[1]
        precondition(cil_winograd_weight_grad_supported(Int32(vectorWidth), Int32(O)) == 1,
                     "Winograd weight gradient: \(O) output channels, not a multiple of the vector width")
        let g = ConvGeometry(batch: x.shape[0], channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                             kernelH: 3, kernelW: 3, stride: 1, padding: 1)
        let gw = weightGradient(g, vectorWidth: vectorWidth, input: x.storage.pointer,
                                outputGradient: gy.storage.pointer, outputChannels: O)
        return Tensor(shape: [O, x.shape[1], 3, 3], storage: gw)
    }

    /// dX of y = conv3x3(x, weight) for an output gradient gy [N, O, H, W], by this kernel
    /// and without autograd: dX[n, c, i, j] = Σ_{o,u,v} gy[n, o, i − u + 1, j − v + 1] ·
    /// weight[o, c, u, v] (zero outside the image) → [N, C, H, W]; `tile` as for `forward`.
    public static func inputGradient(_ gy: Tensor, weight: Tensor, vectorWidth: Int = DirectConv3x3.vectorWidth,
                                     tile: Int? = nil) -> Tensor {
        precondition(gy.rank == 4 && weight.rank == 4 && weight.shape[0] == gy.shape[1]
                         && weight.shape[2] == 3 && weight.shape[3] == 3,
                     "Winograd input gradient: gradient \(gy.shape) and weight \(weight.shape) do not match (NCHW, OC33)")
        let (N, O, H, W, C) = (gy.shape[0], gy.shape[1], gy.shape[2], gy.shape[3], weight.shape[1])
        let dx = TensorStorage(uninitializedCount: N * C * H * W)
        run(batch: N, height: H, width: W, vectorWidth: vectorWidth, input: gy.storage.pointer, inputChannels: O,
            weight: weight.storage.pointer, outputChannels: C, transposed: true, output: dx.pointer, tile: tile)
        return Tensor(shape: [N, C, H, W], storage: dx)
    }
}
