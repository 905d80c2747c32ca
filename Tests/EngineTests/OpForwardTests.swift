// Forward values of every engine op against naive Double references
// (Support/GradCheck.swift). No input requires a gradient here, so each test also
// checks that no graph is recorded. Gradients are in OpGradientTests.swift.

import CILSDK
import Foundation
import Testing

@Suite("Op forward")
struct OpForwardTests {
    // MARK: Convolution

    @Test("conv2d matches a direct 7-loop convolution", arguments: OpConvCase.all)
    func conv2d(_ c: OpConvCase) {
        var rng = opRNG("conv2d.forward " + c.testDescription)
        let x = OpInput(c.xShape, rng.normals(NaiveRef.count(c.xShape)))
        let w = OpInput(c.wShape, rng.normals(NaiveRef.count(c.wShape), std: 0.5))
        checkOpForward("conv2d \(c.testDescription)", [x, w]) {
            Tensor.conv2d($0[0], weight: $0[1], stride: c.stride, padding: c.padding)
        } reference: {
            NaiveRef.conv2d($0[0], c.xShape, $0[1], c.wShape, stride: c.stride, padding: c.padding)
        }
    }

    @Test("conv2d output size is floor((H + 2p - k) / s) + 1")
    func conv2dOutputShape() {
        let x = Tensor.zeros([1, 2, 5, 7])
        #expect(Tensor.conv2d(x, weight: Tensor.zeros([3, 2, 3, 3]), stride: 2, padding: 1).shape == [1, 3, 3, 4])
        #expect(Tensor.conv2d(x, weight: Tensor.zeros([3, 2, 3, 3]), stride: 2, padding: 0).shape == [1, 3, 2, 3])
        #expect(Tensor.conv2d(x, weight: Tensor.zeros([4, 2, 1, 1]), stride: 2, padding: 0).shape == [1, 4, 3, 4])
        #expect(Tensor.conv2d(x, weight: Tensor.zeros([4, 2, 1, 1]), stride: 1, padding: 1).shape == [1, 4, 7, 9])
    }

    // MARK: Batch norm

    @Test("batchNorm training: batch statistics, running stats with unbiased variance",
          arguments: [([3, 4, 5, 7], Float(0.1)), ([2, 3, 1, 1], Float(0.1)), ([6, 3], Float(0.1)), ([2, 2, 3, 5], Float(0.3))])
    func batchNormTraining(_ shape: [Int], _ momentum: Float) {
        var rng = opRNG("bn.train.forward \(shape) \(momentum)")
        let C = shape[1]
        let x = rng.normals(NaiveRef.count(shape), mean: 0.7, std: 1.8)
        let gamma = rng.normals(C), beta = rng.normals(C)
        let rm0 = rng.normals(C), rv0 = rng.uniforms(C, in: 0.5...1.5)
        let runningMean = Tensor(shape: [C], rm0), runningVar = Tensor(shape: [C], rv0)
        let eps: Float = 1e-5
        checkOpForward("batchNorm train \(shape)", [OpInput(shape, x), OpInput([C], gamma), OpInput([C], beta)]) {
            Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: runningMean, runningVar: runningVar,
                             training: true, momentum: momentum, eps: eps)
        } reference: {
            NaiveRef.batchNorm($0[0], shape, gamma: $0[1], beta: $0[2], running: nil, eps: Double(eps))
        }
        let stats = NaiveRef.channelStats(x.map(Double.init), shape)
        let m = Double(momentum)
        let expectedMean = (0..<C).map { (1 - m) * Double(rm0[$0]) + m * stats.mean[$0] }
        let unbiased = stats.biasedVar.map { $0 * Double(stats.n) / Double(stats.n - 1) }
        let expectedVar = (0..<C).map { (1 - m) * Double(rv0[$0]) + m * unbiased[$0] }
        expectAllClose(runningMean.scalars, expectedMean, .forward, "running mean after one training step")
        expectAllClose(runningVar.scalars, expectedVar, .forward, "running var (unbiased) after one training step")
        #expect(runningMean.grad == nil && runningVar.grad == nil)
    }

    @Test("batchNorm eval uses the running statistics and leaves them unchanged", arguments: [[2, 3, 5, 7], [4, 3]])
    func batchNormEval(_ shape: [Int]) {
        var rng = opRNG("bn.eval.forward \(shape)")
        let C = shape[1]
        let x = rng.normals(NaiveRef.count(shape), mean: 0.3, std: 1.5)
        let gamma = rng.normals(C), beta = rng.normals(C)
        let rm = rng.normals(C), rv = rng.uniforms(C, in: 0.5...2)
        let runningMean = Tensor(shape: [C], rm), runningVar = Tensor(shape: [C], rv)
        checkOpForward("batchNorm eval \(shape)", [OpInput(shape, x), OpInput([C], gamma), OpInput([C], beta)]) {
            Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: runningMean, runningVar: runningVar,
                             training: false)
        } reference: {
            NaiveRef.batchNorm($0[0], shape, gamma: $0[1], beta: $0[2],
                          running: (rm.map(Double.init), rv.map(Double.init)), eps: 1e-5)
        }
        #expect(runningMean.scalars == rm)
        #expect(runningVar.scalars == rv)
    }

    @Test("BatchNorm2d layer: torch defaults, training then eval")
    func batchNorm2dLayer() {
        var rng = opRNG("bn.layer")
        let bn = BatchNorm2d(3)
        #expect(bn.gamma.scalars == [1, 1, 1] && bn.beta.scalars == [0, 0, 0])
        #expect(bn.runningMean.scalars == [0, 0, 0] && bn.runningVar.scalars == [1, 1, 1])
        #expect(bn.momentum == 0.1 && bn.eps == 1e-5 && bn.isTraining)
        #expect(bn.gamma.requiresGrad && bn.beta.requiresGrad)
        let shape = [2, 3, 3, 5]
        let xv = rng.normals(NaiveRef.count(shape), mean: 1, std: 2)
        let y = withNoGrad { bn(Tensor(shape: shape, xv)) }
        let xd = xv.map(Double.init)
        expectAllClose(y.scalars, NaiveRef.batchNorm(xd, shape, gamma: [1, 1, 1], beta: [0, 0, 0], running: nil, eps: 1e-5).values,
                    .forward, "BatchNorm2d training output")
        let stats = NaiveRef.channelStats(xd, shape)
        let rm = stats.mean.map { 0.1 * $0 }
        let rv = stats.biasedVar.map { 0.9 + 0.1 * $0 * Double(stats.n) / Double(stats.n - 1) }
        expectAllClose(bn.runningMean.scalars, rm, .forward, "BatchNorm2d running mean")
        expectAllClose(bn.runningVar.scalars, rv, .forward, "BatchNorm2d running var")
        bn.isTraining = false
        let y2 = withNoGrad { bn(Tensor(shape: shape, xv)) }
        expectAllClose(y2.scalars, NaiveRef.batchNorm(xd, shape, gamma: [1, 1, 1], beta: [0, 0, 0], running: (rm, rv), eps: 1e-5).values,
                    .forward, "BatchNorm2d eval output")
        expectAllClose(bn.runningMean.scalars, rm, .tight, "eval leaves running mean")
    }

    // MARK: Pooling

    @Test("avgPool2d matches direct window averages", arguments: OpAvgPoolCase.all)
    func avgPool(_ c: OpAvgPoolCase) {
        var rng = opRNG("avgpool.forward " + c.testDescription)
        checkOpForward("avgPool2d \(c.testDescription)", [OpInput(c.shape, rng.normals(NaiveRef.count(c.shape)))]) {
            $0[0].avgPool2d(kernel: c.kernel, stride: c.stride)
        } reference: {
            NaiveRef.avgPool($0[0], c.shape, kernel: c.kernel, stride: c.stride ?? c.kernel)
        }
    }

    @Test("maxPool2d matches direct window maxima", arguments: OpMaxPoolCase.all)
    func maxPool(_ c: OpMaxPoolCase) {
        var rng = opRNG("maxpool.forward " + c.testDescription)
        checkOpForward("maxPool2d \(c.testDescription)", [OpInput(c.shape, rng.normals(NaiveRef.count(c.shape)))]) {
            $0[0].maxPool2d(kernel: c.kernel, stride: c.stride, padding: c.padding)
        } reference: {
            NaiveRef.maxPool($0[0], c.shape, kernel: c.kernel, stride: c.stride, padding: c.padding).out
        }
    }

    @Test("maxPool2d: zero padding never wins over negative inputs")
    func maxPoolPaddingNeverWins() {
        var rng = opRNG("maxpool.negative")
        let shape = [2, 2, 5, 7]
        let x = rng.uniforms(NaiveRef.count(shape), in: -3 ... -0.5)
        let out = checkOpForward("maxPool2d negative input", [OpInput(shape, x)]) {
            $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1)
        } reference: {
            NaiveRef.maxPool($0[0], shape, kernel: 3, stride: 2, padding: 1).out
        }
        #expect(out.scalars.allSatisfy { $0 < 0 })
    }

    @Test("globalAvgPool is the mean over H and W")
    func globalAvgPool() {
        var rng = opRNG("gap.forward")
        let shape = [3, 4, 5, 7]
        checkOpForward("globalAvgPool", [OpInput(shape, rng.normals(NaiveRef.count(shape)))]) {
            $0[0].globalAvgPool()
        } reference: {
            NaiveRef.globalAvgPool($0[0], shape)
        }
    }

    // MARK: Element-wise

    @Test("binary ops broadcast like NumPy", arguments: OpBinaryCase.allCases, OpBroadcastPair.all)
    func binary(_ op: OpBinaryCase, _ pair: OpBroadcastPair) {
        var rng = opRNG("binary.forward \(op) " + pair.testDescription)
        let (a, b) = op.operands(pair, rng: &rng)
        checkOpForward("\(op) \(pair.testDescription)", [OpInput(pair.a, a), OpInput(pair.b, b)], tolerance: .tight) {
            op.apply($0[0], $0[1])
        } reference: {
            NaiveRef.binary($0[0], pair.a, $0[1], pair.b, op.reference)
        }
    }

    @Test("unary ops and scalar operators", arguments: OpUnaryCase.allCases)
    func unary(_ op: OpUnaryCase) {
        var rng = opRNG("unary.forward \(op)")
        let shape = [3, 5, 7]
        checkOpForward("\(op)", [OpInput(shape, op.inputs(NaiveRef.count(shape), rng: &rng))]) {
            op.apply($0[0])
        } reference: {
            NaiveRef.unary($0[0], shape, op.reference)
        }
    }

    @Test("unary ops at their special points (relu'/abs at 0, clamp at the bounds)")
    func unarySpecialPoints() {
        let x = Tensor(shape: [5], [-1, -0.5, 0, 0.7, 2])
        #expect(x.relu().scalars == [0, 0, 0, 0.7, 2])
        #expect(x.abs().scalars == [1, 0.5, 0, 0.7, 2])
        #expect(x.clamped(min: -0.5, max: 0.7).scalars == [-0.5, -0.5, 0, 0.7, 0.7])
        #expect(x.clamped().scalars == x.scalars)
        #expect(Tensor(shape: [2], [0, 4]).sqrt().scalars == [0, 2])
        #expect(Tensor(shape: [1], [1]).log().scalars == [0])
    }

    @Test("channelScaled multiplies channel c by scale[c]", arguments: [[2, 3, 4, 5], [4, 3]])
    func channelScaled(_ shape: [Int]) {
        var rng = opRNG("channelScaled.forward \(shape)")
        let C = shape[1]
        let bshape = [1, C] + [Int](repeating: 1, count: shape.count - 2)
        checkOpForward("channelScaled \(shape)", [OpInput(shape, rng.normals(NaiveRef.count(shape))), OpInput([C], rng.normals(C))],
                     tolerance: .tight) {
            $0[0].channelScaled(by: $0[1])
        } reference: {
            NaiveRef.binary($0[0], shape, $0[1], bshape, *)
        }
    }

    // MARK: Reductions

    @Test("sum / mean / max over axes", arguments: OpReductionCase.allCases)
    func reduction(_ r: OpReductionCase) {
        var rng = opRNG("reduction.forward \(r)")
        let shape = OpReductionCase.shape
        checkOpForward("\(r)", [OpInput(shape, rng.normals(NaiveRef.count(shape)))]) {
            r.apply($0[0])
        } reference: {
            r.reference($0[0])
        }
    }

    @Test("max(axis:) returns the first maximal entry on ties")
    func maxTies() {
        let x = Tensor(shape: [2, 3], [1, 5, 5, 7, 7, 7], requiresGrad: true)
        let m = x.max(axis: 1)
        #expect(m.scalars == [5, 7])
        m.backward(Tensor(shape: [2], [2, 3]))
        #expect(x.grad?.scalars == [0, 2, 0, 3, 0, 0])
    }

    // MARK: Matrix products

    @Test("matmul with every transpose combination", arguments: [false, true], [false, true])
    func matmul(_ ta: Bool, _ tb: Bool) {
        var rng = opRNG("matmul.forward \(ta) \(tb)")
        let (m, k, n) = (3, 5, 4)
        let aShape = ta ? [k, m] : [m, k], bShape = tb ? [n, k] : [k, n]
        checkOpForward("matmul tA \(ta) tB \(tb)", [OpInput(aShape, rng.normals(m * k)), OpInput(bShape, rng.normals(k * n))]) {
            Tensor.matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
        } reference: {
            NaiveRef.matmul($0[0], aShape, $0[1], bShape, transposeA: ta, transposeB: tb)
        }
    }

    @Test("linear = x Wᵀ + b", arguments: [false, true])
    func linear(_ withBias: Bool) {
        var rng = opRNG("linear.forward \(withBias)")
        var inputs = [OpInput([5, 7], rng.normals(35)), OpInput([3, 7], rng.normals(21))]
        if withBias { inputs.append(OpInput([3], rng.normals(3))) }
        checkOpForward("linear bias \(withBias)", inputs) {
            Tensor.linear($0[0], weight: $0[1], bias: withBias ? $0[2] : nil)
        } reference: {
            NaiveRef.linear($0[0], [5, 7], $0[1], [3, 7], bias: withBias ? $0[2] : nil)
        }
    }

    // MARK: Softmax, normalisation

    @Test("softmax and logSoftmax along an axis", arguments: [-1, 0, 1], [false, true])
    func softmax(_ axis: Int, _ log: Bool) {
        var rng = opRNG("softmax.forward \(axis) \(log)")
        let shape = [2, 3, 4]
        checkOpForward("\(log ? "logSoftmax" : "softmax") axis \(axis)", [OpInput(shape, rng.normals(24, std: 2))]) {
            log ? $0[0].logSoftmax(axis: axis) : $0[0].softmax(axis: axis)
        } reference: {
            NaiveRef.softmax($0[0], shape, axis: axis, log: log)
        }
    }

    @Test("softmax is stable for large logits")
    func softmaxLargeLogits() {
        let x = Tensor(shape: [2, 3], [1000, 1001, 1002, -1000, -1001, -1002])
        let y = x.softmax(axis: 1), ly = x.logSoftmax(axis: 1)
        let r = NaiveRef.softmax([0, 1, 2, 0, -1, -2], [2, 3], axis: 1, log: false).values
        let lr = NaiveRef.softmax([0, 1, 2, 0, -1, -2], [2, 3], axis: 1, log: true).values
        expectAllClose(y.scalars, r, .forward, "softmax of large logits")
        expectAllClose(ly.scalars, lr, .forward, "logSoftmax of large logits")
    }

    @Test("l2Normalized divides by max(norm, eps)", arguments: [([3, 5], 1), ([2, 3, 4], 1), ([2, 3, 4], -1), ([4, 3], 0)])
    func l2Normalized(_ shape: [Int], _ axis: Int) {
        var rng = opRNG("l2.forward \(shape) \(axis)")
        checkOpForward("l2Normalized \(shape) axis \(axis)", [OpInput(shape, rng.normals(NaiveRef.count(shape)))]) {
            $0[0].l2Normalized(axis: axis)
        } reference: {
            NaiveRef.l2Normalize($0[0], shape, axis: axis, eps: 1e-12)
        }
    }

    @Test("l2Normalized: rows with norm below eps are divided by eps; zero rows stay zero")
    func l2NormalizedClamped() {
        let x = Tensor(shape: [3, 2], [0.03, -0.04, 3, 4, 0, 0])
        expectAllClose(x.l2Normalized(axis: 1, eps: 0.5).scalars, [0.06, -0.08, 0.6, 0.8, 0, 0], .forward, "clamped norm")
        #expect(x.l2Normalized(axis: 1).scalars.allSatisfy { $0.isFinite })
    }

    // MARK: Shape ops

    @Test("reshaped and flattened keep the elements and share memory")
    func reshape() {
        let x = Tensor(shape: [2, 3, 4], (0..<24).map(Float.init))
        let r = x.reshaped([4, -1])
        #expect(r.shape == [4, 6] && r.scalars == x.scalars)
        #expect(r.storage === x.storage)
        let f = x.flattened()
        #expect(f.shape == [2, 12] && f.storage === x.storage)
    }

    @Test("sliced along each axis", arguments: [(0, 1..<3), (1, 1..<2), (2, 0..<3), (-1, 2..<5)])
    func sliced(_ axis: Int, _ range: Range<Int>) {
        var rng = opRNG("slice.forward \(axis) \(range)")
        let shape = [3, 4, 5]
        checkOpForward("sliced axis \(axis) \(range)", [OpInput(shape, rng.normals(60))], tolerance: .tight) {
            $0[0].sliced(axis: axis, range)
        } reference: {
            NaiveRef.slice($0[0], shape, axis: axis, range)
        }
    }

    @Test("subsampledZeroPadded keeps every s-th row and column and appends zero channels",
          arguments: [([2, 3, 5, 4], 2, 6), ([1, 2, 4, 4], 2, 2), ([2, 2, 6, 7], 3, 5)])
    func subsampledZeroPadded(_ shape: [Int], _ stride: Int, _ channels: Int) {
        var rng = opRNG("subsampledZeroPadded.forward \(shape)")
        checkOpForward("subsampledZeroPadded \(shape) s\(stride) c\(channels)",
                       [OpInput(shape, rng.normals(NaiveRef.count(shape)))], tolerance: .tight) {
            $0[0].subsampledZeroPadded(stride: stride, channels: channels)
        } reference: {
            NaiveRef.subsampleZeroPad($0[0], shape, stride: stride, channels: channels)
        }
    }

    @Test("concatenate along each axis", arguments: [0, 1, 2])
    func concatenate(_ axis: Int) {
        var rng = opRNG("concat.forward \(axis)")
        var shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
        for (i, extra) in [1, 2, 3].enumerated() { shapes[i][axis] = extra }
        let inputs = shapes.map { OpInput($0, rng.normals(NaiveRef.count($0))) }
        checkOpForward("concatenate axis \(axis)", inputs, tolerance: .tight) {
            Tensor.concatenate($0, axis: axis)
        } reference: {
            NaiveRef.concatenate($0, shapes, axis: axis)
        }
    }

    @Test("transposed, gathered, selectingRows")
    func indexing() {
        var rng = opRNG("indexing.forward")
        let x = OpInput([3, 5], rng.normals(15))
        checkOpForward("transposed", [x], tolerance: .tight) { $0[0].transposed() } reference: { NaiveRef.transpose($0[0], [3, 5]) }
        let idx = [[4, 0, 4], [1, 1, 2], [3, 0, 1]]
        checkOpForward("gathered", [x], tolerance: .tight) { $0[0].gathered(idx) } reference: { NaiveRef.gather($0[0], [3, 5], idx) }
        let rows = [2, 0, 2, 1]
        let y = OpInput([3, 2, 2], rng.normals(12))
        checkOpForward("selectingRows", [y], tolerance: .tight) {
            $0[0].selectingRows(rows)
        } reference: {
            NaiveRef.selectRows($0[0], [3, 2, 2], rows)
        }
    }

    @Test("topKIndices and argmaxRows (ties: lower index first)")
    func topK() {
        let x = Tensor(shape: [2, 4], [0.5, 2, -1, 2, 3, 3, 1, 0])
        #expect(x.topKIndices(3) == [[1, 3, 0], [0, 1, 2]])
        #expect(x.argmaxRows() == [1, 0])
    }

    // MARK: Losses

    @Test("crossEntropy is the batch mean of −log softmax[target]")
    func crossEntropy() {
        var rng = opRNG("ce.forward")
        let targets = [1, 0, 4, 2]
        checkOpForward("crossEntropy", [OpInput([4, 5], rng.normals(20, std: 2))]) {
            Tensor.crossEntropy(logits: $0[0], targets: targets)
        } reference: {
            NaiveRef.crossEntropy($0[0], [4, 5], targets: targets)
        }
    }

    @Test("klDivergence with each reduction (zeros in the target contribute 0)",
          arguments: [LossReduction.mean, .batchMean, .sum])
    func klDivergence(_ reduction: LossReduction) {
        var rng = opRNG("kl.forward \(reduction)")
        let shape = [3, 5]
        let logInput = NaiveRef.softmax(rng.normals(15).map(Double.init), shape, axis: 1, log: true).values.map(Float.init)
        var target = NaiveRef.softmax(rng.normals(15).map(Double.init), shape, axis: 1, log: false).values.map(Float.init)
        target[3] = 0
        target[11] = 0
        let divisor: Double = reduction == .mean ? 15 : reduction == .batchMean ? 3 : 1
        checkOpForward("klDivergence \(reduction)", [OpInput(shape, logInput), OpInput(shape, target)]) {
            Tensor.klDivergence(logInput: $0[0], target: $0[1], reduction: reduction)
        } reference: {
            NaiveRef.klDivergence($0[0], $0[1], divisor: divisor)
        }
    }

    @Test("distillationKL = KL(log_softmax(s/T), softmax(t/T))", arguments: [Float(1), 2, 4])
    func distillationKL(_ temperature: Float) {
        var rng = opRNG("distill.forward \(temperature)")
        let shape = [3, 5]
        let T = Double(temperature)
        checkOpForward("distillationKL T \(temperature)", [OpInput(shape, rng.normals(15, std: 2)), OpInput(shape, rng.normals(15, std: 2))]) {
            Tensor.distillationKL(student: $0[0], teacher: $0[1], temperature: temperature)
        } reference: {
            let lp = NaiveRef.softmax($0[0].map { $0 / T }, shape, axis: 1, log: true).values
            let q = NaiveRef.softmax($0[1].map { $0 / T }, shape, axis: 1, log: false).values
            return NaiveRef.klDivergence(lp, q, divisor: 15)
        }
    }

    @Test("cosineSimilarity, cosineEmbeddingLoss, marginRankingLoss")
    func similarityLosses() {
        var rng = opRNG("similarity.forward")
        let shape = [4, 6]
        let a = OpInput(shape, rng.normals(24)), b = OpInput(shape, rng.normals(24))
        checkOpForward("cosineSimilarity", [a, b]) {
            Tensor.cosineSimilarity($0[0], $0[1])
        } reference: {
            NaiveRef.cosineSimilarity($0[0], $0[1], shape, eps: 1e-12)
        }
        let targets = [1, -1, -1, 1]
        for margin in [Float(0), 0.2] {
            checkOpForward("cosineEmbeddingLoss margin \(margin)", [a, b]) {
                Tensor.cosineEmbeddingLoss($0[0], $0[1], targets: targets, margin: margin)
            } reference: {
                NaiveRef.cosineEmbeddingLoss($0[0], $0[1], shape, targets: targets, margin: Double(margin))
            }
        }
        let x1 = OpInput([7], rng.normals(7)), x2 = OpInput([7], rng.normals(7))
        for target in [Float(1), -1] {
            checkOpForward("marginRankingLoss target \(target)", [x1, x2]) {
                Tensor.marginRankingLoss($0[0], $0[1], target: target, margin: 0.1)
            } reference: {
                NaiveRef.marginRankingLoss($0[0], $0[1], target: Double(target), margin: 0.1)
            }
        }
    }

    // MARK: Graph recording

    @Test("withNoGrad records no graph even for inputs that require a gradient")
    func noGrad() {
        let x = Tensor(shape: [2, 2], [1, 2, 3, 4], requiresGrad: true)
        let y = withNoGrad { (x * x).sum() }
        #expect(!y.requiresGrad && y.gradFn == nil && y.item == 30)
        #expect(GradMode.isEnabled)
        #expect(withNoGrad { GradMode.isEnabled } == false)
        let z = (x * x).sum()
        #expect(z.requiresGrad && z.gradFn != nil)
    }
}
