// The direct 3x3 convolution kernel (CKernels) on ResNet-sized shapes, where the
// small OpConvCase shapes do not reach its 8-row register tiles, its vector tails
// or its multi-vector rows: forward, input gradient and weight gradient against
// naive Double loops.

import CILSDK
import Testing

@Suite("Direct 3x3 convolution", .serialized)
struct DirectConv3x3Tests {
    typealias Case = Conv3x3Case

    static let cases: [Case] = [
        Case(n: 2, c: 3, h: 32, w: 32, o: 16),   // a ResNet's first convolution
        Case(n: 2, c: 16, h: 32, w: 32, o: 16),  // stage 1
        Case(n: 3, c: 32, h: 16, w: 16, o: 32),  // stage 2
        Case(n: 2, c: 64, h: 8, w: 8, o: 64),    // stage 3
        Case(n: 1, c: 5, h: 9, w: 13, o: 15),    // odd sizes; 15 output rows = 8 + 4 + 2 + 1
        Case(n: 2, c: 7, h: 1, w: 1, o: 3),      // a 1×1 image: only the centre tap
    ]

    @Test("forward, input and weight gradients match naive loops", arguments: cases)
    func matchesNaive(_ k: Case) {
        check(k)
    }

    /// The kernels this CPU does not pick by default (AVX2, generic) on the same cases.
    @Test("every vector width this CPU runs matches naive loops", arguments: [8, 4])
    func otherWidths(_ width: Int) {
        let chosen = DirectConv3x3.vectorWidth
        guard width < chosen, DirectConv3x3.useVectorWidth(width) else { return }
        defer { #expect(DirectConv3x3.useVectorWidth(chosen)) }
        #expect(DirectConv3x3.vectorWidth == width)
        for k in Self.cases { check(k) }
    }

    private func check(_ k: Case) {
        var rng = opRNG("direct3x3 " + k.testDescription)
        let xs = [k.n, k.c, k.h, k.w], ws = [k.o, k.c, 3, 3], ys = [k.n, k.o, k.h, k.w]
        let xf = rng.normals(NaiveRef.count(xs)), wf = rng.normals(NaiveRef.count(ws), std: 0.3)
        let gf = rng.normals(NaiveRef.count(ys))
        let x = Tensor(shape: xs, xf, requiresGrad: true)
        let w = Tensor(shape: ws, wf, requiresGrad: true)
        let y = Tensor.conv2d(x, weight: w, stride: 1, padding: 1)
        y.backward(Tensor(shape: ys, gf))
        let xv = xf.map(Double.init), wv = wf.map(Double.init), gv = gf.map(Double.init)

        // Naive references in Double.
        let yRef = NaiveRef.conv2d(xv, xs, wv, ws, stride: 1, padding: 1).values
        let (gxRef, gwRef) = NaiveRef.conv3x3Gradients(xv, xs, wv, ws, outputGradient: gv)

        expectClose(y.scalars, yRef, "y")
        expectClose(x.grad?.scalars ?? [], gxRef, "dx")
        expectClose(w.grad?.scalars ?? [], gwRef, "dw")
    }

    @Test("the kernel runs at a vector width this CPU supports")
    func vectorWidth() {
        #expect([4, 8, 16].contains(DirectConv3x3.vectorWidth))
    }

    private func expectClose(_ got: [Float], _ want: [Double], _ what: String) {
        #expect(got.count == want.count, "\(what): \(got.count) values, expected \(want.count)")
        guard got.count == want.count else { return }
        let scale = max(1, want.map(abs).max() ?? 1)
        let worst = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= 1e-4 * scale, "\(what): worst absolute error \(worst) (scale \(scale))")
    }
}
