// The Winograd kernels (CKernels) against naive Double loops at every vector width this
// CPU runs: F(2×2, 3×3) forward, input gradient and weight gradient (for output channel
// counts that are a multiple of the vector width), F(4×4, 3×3) forward and input
// gradient. Channel counts 3, 16, 17, 32 and 64 (register-tile tails of 4, 2 and 1
// output rows), image sides 1, 5, 8, 16 and 32 (odd sides: the last tile row / column
// partly outside the image; sides below 8: rows shorter than one transform vector;
// images of fewer than 16 tiles grouped across the batch, with a last group smaller than
// the others; large images with many channels cut into blocks of tile rows), and
// batches of 2 to 9 images.

import CILSDK
import Foundation
import Testing

@Suite("Winograd 3x3 convolution", .serialized)
struct WinogradConv3x3Tests {
    typealias Case = Conv3x3Case

    static let cases: [Case] = [
        Case(n: 2, c: 3, h: 32, w: 32, o: 16),   // the stem's shape
        Case(n: 2, c: 16, h: 32, w: 32, o: 16),  // ResNet stage 1
        Case(n: 3, c: 32, h: 16, w: 16, o: 32),  // stage 2
        Case(n: 2, c: 64, h: 8, w: 8, o: 64),    // stage 3
        Case(n: 9, c: 16, h: 8, w: 8, o: 17),    // 17 output channels: register tiles of 8, 8 and 1
        Case(n: 3, c: 17, h: 5, w: 8, o: 3),     // odd height; 12 tiles per image: blocks of 2 and 1 images
        Case(n: 5, c: 3, h: 5, w: 5, o: 16),     // odd sides; 9 tiles per image: blocks of 2, 2 and 1 images
        Case(n: 2, c: 64, h: 32, w: 32, o: 16),  // four blocks of 4 tile rows per image
        Case(n: 2, c: 16, h: 8, w: 5, o: 17),    // odd width
        Case(n: 2, c: 17, h: 16, w: 1, o: 32),   // one column: scalar tiles only
        Case(n: 2, c: 32, h: 1, w: 16, o: 16),   // one row: the second output row absent
        Case(n: 2, c: 64, h: 1, w: 1, o: 3),     // a 1×1 image: only the centre tap
        Case(n: 2, c: 16, h: 32, w: 16, o: 64),
    ]

    /// The worst error relative to the largest reference value, forward, input gradient
    /// and (when O is a multiple of the vector width and the tile is 2, else 0) weight
    /// gradient, for `k` at vector width `width` with output tiles of side `tile`.
    private func errors(_ k: Case, width: Int, tile: Int = 2) -> (forward: Double, inputGradient: Double,
                                                                  weightGradient: Double) {
        var rng = opRNG("winograd " + k.testDescription)
        let xs = [k.n, k.c, k.h, k.w], ws = [k.o, k.c, 3, 3], ys = [k.n, k.o, k.h, k.w]
        let xf = rng.normals(NaiveRef.count(xs)), wf = rng.normals(NaiveRef.count(ws), std: 0.3)
        let gf = rng.normals(NaiveRef.count(ys))
        let w = Tensor(shape: ws, wf)
        let y = WinogradConv3x3.forward(Tensor(shape: xs, xf), weight: w, vectorWidth: width, tile: tile)
        let dx = WinogradConv3x3.inputGradient(Tensor(shape: ys, gf), weight: w, vectorWidth: width, tile: tile)
        #expect(y.shape == ys && dx.shape == xs)

        let xv = xf.map(Double.init), wv = wf.map(Double.init), gv = gf.map(Double.init)
        let yRef = NaiveRef.conv2d(xv, xs, wv, ws, stride: 1, padding: 1).values
        let (dxRef, dwRef) = NaiveRef.conv3x3Gradients(xv, xs, wv, ws, outputGradient: gv)
        var dwError = 0.0
        if k.o % width == 0 && tile == 2 {
            let dw = WinogradConv3x3.weightGradient(Tensor(shape: xs, xf), outputGradient: Tensor(shape: ys, gf),
                                                    vectorWidth: width)
            #expect(dw.shape == ws)
            dwError = relativeError(dw.scalars, dwRef)
        }
        return (relativeError(y.scalars, yRef), relativeError(dx.scalars, dxRef), dwError)
    }

    /// max |got − want| / max |want|; infinity if the counts differ or a value is not finite.
    private func relativeError(_ got: [Float], _ want: [Double]) -> Double {
        guard got.count == want.count, got.allSatisfy(\.isFinite) else { return .infinity }
        let scale = max(want.map(abs).max() ?? 0, 1e-30)
        return (zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0) / scale
    }

    // Tolerance: 4e-6 of the largest reference value. Float32 carries 6e-8 relative.
    // F(2×2, 3×3) rounds in the input transform (sums of up to 4 inputs), the weight
    // transform (halves of sums of 3 weights), the 16 products summed over the C
    // channels, and the output transform (sums of 9 products); the direct kernel sums
    // 9C products in one chain instead. Measured on this machine, worst relative error
    // over these cases (all three vector widths give the same values): Winograd 8.0e-7
    // (forward of the 1×1 image with 64 channels, where only the centre tap is
    // non-zero and the transforms' ±½ terms cancel), 2.0-3.6e-7 on the ResNet shapes;
    // the direct / im2col path (conv2d with CIL_WINOGRAD=0) 0.5-9.3e-7, e.g. 8.0e-7 for
    // the 64-channel 8×8 input gradient, where Winograd gives 3.6e-7. The weight
    // gradient sums transformed products over every tile of the batch: Winograd
    // 1.4-6.7e-7 (worst: 16 → 16 channels at 32×32), where the direct kernel gives
    // 2.3e-7 (a C microbenchmark on the same shape). The bound leaves 5× margin over the
    // worst measured. A wrong transform entry gives errors of order
    // 1 (one flipped sign in the vector input transform: 1.0-1.1 on these shapes).
    static let tolerance = 4e-6

    /// F(2×2, 3×3), forward, input and weight gradients, at the widest vector width.
    @Test("forward, input and weight gradients match naive loops", arguments: cases)
    func matchesNaive(_ k: Case) {
        let e = errors(k, width: DirectConv3x3.vectorWidth, tile: 2)
        #expect(e.forward <= Self.tolerance, "forward: relative error \(e.forward)")
        #expect(e.inputGradient <= Self.tolerance, "input gradient: relative error \(e.inputGradient)")
        #expect(e.weightGradient <= Self.tolerance, "weight gradient: relative error \(e.weightGradient)")
    }

    /// The kernels this CPU does not pick by default (AVX2, generic) on the same cases;
    /// the width is passed per call, so no global switch is involved.
    @Test("every vector width this CPU runs matches naive loops", arguments: [8, 4])
    func otherWidths(_ width: Int) {
        guard width < DirectConv3x3.vectorWidth else { return }
        for k in Self.cases {
            let e = errors(k, width: width, tile: 2)
            #expect(e.forward <= Self.tolerance, "\(k.testDescription), width \(width): forward \(e.forward)")
            #expect(e.inputGradient <= Self.tolerance, "\(k.testDescription), width \(width): input gradient \(e.inputGradient)")
            #expect(e.weightGradient <= Self.tolerance, "\(k.testDescription), width \(width): weight gradient \(e.weightGradient)")
        }
    }

    /// F(4×4, 3×3) on the cases above (4×4 tiles: sides 1, 5 and 8 give one tile column /
    /// row, partial or whole; 16 and 32 whole rows of 4 and 8 tiles) and sides that are
    /// neither multiples of 4 nor small (7×13, 11×9), plus 4×4 images with 64 channels.
    static let largeTileCases = cases + [
        Case(n: 3, c: 5, h: 7, w: 13, o: 6),
        Case(n: 2, c: 16, h: 11, w: 9, o: 16),
        Case(n: 5, c: 64, h: 4, w: 4, o: 64),
    ]

    // Tolerance for F(4×4, 3×3): 4e-5 of the largest reference value. Its transforms
    // have larger coefficients (B^T up to 5, A^T up to 8, G down to 1/24), so the
    // rounding grows: measured on this machine, worst relative error over these cases
    // 7.7e-6 (forward of the 64-channel 8×8 layer), 2.9-7.7e-6 on the ResNet stage shapes,
    // about 10× F(2×2)'s (2.0-3.6e-7 there); the three vector widths give the same
    // values. The bound leaves 5× margin over the worst measured.
    static let largeTileTolerance = 4e-5

    /// F(4×4, 3×3) forward and input gradient (its weight gradient is F(2×2)'s) at every
    /// vector width this CPU runs, the width passed per call.
    @Test("F(4×4) forward and input gradient match naive loops at every vector width", arguments: [16, 8, 4])
    func largeTiles(_ width: Int) {
        guard width <= DirectConv3x3.vectorWidth else { return }
        for k in Self.largeTileCases {
            let e = errors(k, width: width, tile: 4)
            #expect(e.forward <= Self.largeTileTolerance, "\(k.testDescription), width \(width): forward \(e.forward)")
            #expect(e.inputGradient <= Self.largeTileTolerance,
                    "\(k.testDescription), width \(width): input gradient \(e.inputGradient)")
        }
    }

    /// conv2d takes the Winograd kernel exactly where `prefers` says (unless
    /// CIL_WINOGRAD is set): the ResNet stage shapes, not the stem.
    @Test("the shape rule selects ResNet-32's stage convolutions, not its stem")
    func rule() {
        for (c, side) in [(16, 32), (32, 16), (64, 8)] {
            #expect(WinogradConv3x3.prefers(inputChannels: c, outputChannels: c, height: side, width: side))
        }
        #expect(!WinogradConv3x3.prefers(inputChannels: 3, outputChannels: 16, height: 32, width: 32))
        #expect(!WinogradConv3x3.prefers(inputChannels: 64, outputChannels: 64, height: 4, width: 4))
    }

    /// F(4×4) is chosen for ResNet-32's stage image sizes, F(2×2) for unmeasured ones
    /// (unless CIL_WINOGRAD_TILE is set).
    @Test("the tile rule picks F(4×4) for 32×32, 16×16 and 8×8 images")
    func tileRule() {
        for side in [32, 16, 8] { #expect(WinogradConv3x3.prefersLargeTiles(height: side, width: side)) }
        #expect(!WinogradConv3x3.prefersLargeTiles(height: 4, width: 4))
        #expect(!WinogradConv3x3.prefersLargeTiles(height: 10, width: 12))
    }

    /// A forward pass that records a gradient runs F(2×2); one that does not
    /// (evaluation, a frozen reference network) runs the tile rule's F(4×4).
    @Test("training forward passes run F(2×2), forward passes without a gradient F(4×4)")
    func forwardTileRule() throws {
        try #require(ProcessInfo.processInfo.environment["CIL_WINOGRAD_TILE"] == nil, "CIL_WINOGRAD_TILE overrides the rule")
        for side in [32, 16, 8] {
            #expect(WinogradConv3x3.forwardTileSize(height: side, width: side, recordsGradient: true) == 2)
            #expect(WinogradConv3x3.forwardTileSize(height: side, width: side, recordsGradient: false) == 4)
        }
        #expect(WinogradConv3x3.forwardTileSize(height: 10, width: 12, recordsGradient: false) == 2)
    }
}
