// Backward pass of every engine op: the analytic Float gradient of
// loss = Σ upstream · op(inputs) (random fixed upstream) against central differences
// of the naive Double reference (Support/GradCheck.swift), tolerance
// |a − e| <= 1e-3 + 1e-3·|e|, step 1e-4. Also: gradient reduction to broadcast
// operand shapes, frozen tensors, and accumulation across backward() calls.

import CILSDK
import Foundation
import Testing

@Suite("Op gradients")
struct OpGradientTests {
    // MARK: Convolution

    @Test("conv2d gradients w.r.t. input and weight", arguments: OpConvCase.all)
    func conv2d(_ c: OpConvCase) {
        var rng = opRNG("conv2d.grad " + c.testDescription)
        let x = OpInput(c.xShape, rng.normals(NaiveRef.count(c.xShape)))
        let w = OpInput(c.wShape, rng.normals(NaiveRef.count(c.wShape), std: 0.5))
        checkOp("conv2d \(c.testDescription)", [x, w], rng: &rng,
                upstream: c.stride == 1 ? .backwardArgument : .sumOfProduct) {
            Tensor.conv2d($0[0], weight: $0[1], stride: c.stride, padding: c.padding)
        } reference: {
            NaiveRef.conv2d($0[0], c.xShape, $0[1], c.wShape, stride: c.stride, padding: c.padding)
        }
    }

    @Test("conv2d with a frozen weight or a frozen input", arguments: [true, false])
    func conv2dFrozen(_ freezeWeight: Bool) {
        var rng = opRNG("conv2d.frozen \(freezeWeight)")
        let c = OpConvCase(batch: 2, channels: 3, outChannels: 4, height: 5, width: 7,
                         kernelH: 3, kernelW: 3, stride: 2, padding: 1)
        let x = OpInput(c.xShape, rng.normals(NaiveRef.count(c.xShape)), requiresGrad: freezeWeight)
        let w = OpInput(c.wShape, rng.normals(NaiveRef.count(c.wShape)), requiresGrad: !freezeWeight)
        let (tensors, out) = checkOp("conv2d frozen \(freezeWeight ? "weight" : "input")", [x, w], rng: &rng) {
            Tensor.conv2d($0[0], weight: $0[1], stride: c.stride, padding: c.padding)
        } reference: {
            NaiveRef.conv2d($0[0], c.xShape, $0[1], c.wShape, stride: c.stride, padding: c.padding)
        }
        #expect(out.requiresGrad)
        #expect((freezeWeight ? tensors[1] : tensors[0]).grad == nil)

        // Everything frozen: no graph at all.
        let y = Tensor.conv2d(Tensor(shape: c.xShape, x.values), weight: Tensor(shape: c.wShape, w.values),
                              stride: c.stride, padding: c.padding)
        #expect(!y.requiresGrad && y.gradFn == nil)
    }

    // MARK: Batch norm

    @Test("batchNorm training gradients w.r.t. x, gamma, beta (through the batch statistics)",
          arguments: [[3, 4, 5, 7], [2, 3, 1, 1], [6, 3], [2, 2, 3, 5]])
    func batchNormTraining(_ shape: [Int]) {
        var rng = opRNG("bn.train.grad \(shape)")
        let C = shape[1]
        let x = OpInput(shape, rng.normals(NaiveRef.count(shape), mean: 0.5, std: 1.5))
        let gamma = OpInput([C], rng.normals(C, mean: 1, std: 0.5)), beta = OpInput([C], rng.normals(C))
        let runningMean = Tensor.zeros([C]), runningVar = Tensor(shape: [C], repeating: 1)
        checkOp("batchNorm train \(shape)", [x, gamma, beta], rng: &rng) {
            Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: runningMean, runningVar: runningVar,
                             training: true)
        } reference: {
            NaiveRef.batchNorm($0[0], shape, gamma: $0[1], beta: $0[2], running: nil, eps: 1e-5)
        }
        #expect(runningMean.grad == nil && runningVar.grad == nil)
    }

    @Test("batchNorm + ReLU fused, training and eval: values and gradients of relu(batchNorm)",
          arguments: [true, false])
    func batchNormReLU(_ training: Bool) {
        let shape = [3, 4, 5, 7], C = 4
        var rng = opRNG("bn.relu.grad \(training)")
        let x = OpInput(shape, rng.normals(NaiveRef.count(shape), mean: 0.5, std: 1.5))
        let gamma = OpInput([C], rng.normals(C, mean: 1, std: 0.5)), beta = OpInput([C], rng.normals(C))
        let rm = rng.normals(C), rv = rng.uniforms(C, in: 0.5...2)
        let runningMean = Tensor(shape: [C], rm), runningVar = Tensor(shape: [C], rv)
        checkOp("batchNorm+relu \(training)", [x, gamma, beta], rng: &rng) {
            Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: runningMean.copy(), runningVar: runningVar.copy(),
                             training: training, relu: true)
        } reference: {
            let bn = NaiveRef.batchNorm($0[0], shape, gamma: $0[1], beta: $0[2],
                                        running: training ? nil : (rm.map(Double.init), rv.map(Double.init)), eps: 1e-5)
            return NaiveRef.Out(shape: bn.shape, values: bn.values.map { max($0, 0) })
        }
    }

    @Test("batchNorm eval gradients w.r.t. x, gamma, beta (running statistics are constants)",
          arguments: [[2, 3, 5, 7], [5, 4]])
    func batchNormEval(_ shape: [Int]) {
        var rng = opRNG("bn.eval.grad \(shape)")
        let C = shape[1]
        let rm = rng.normals(C), rv = rng.uniforms(C, in: 0.5...2)
        let runningMean = Tensor(shape: [C], rm), runningVar = Tensor(shape: [C], rv)
        let x = OpInput(shape, rng.normals(NaiveRef.count(shape)))
        let gamma = OpInput([C], rng.normals(C, mean: 1, std: 0.5)), beta = OpInput([C], rng.normals(C))
        checkOp("batchNorm eval \(shape)", [x, gamma, beta], rng: &rng, upstream: .sumOfProduct) {
            Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: runningMean, runningVar: runningVar,
                             training: false)
        } reference: {
            NaiveRef.batchNorm($0[0], shape, gamma: $0[1], beta: $0[2],
                          running: (rm.map(Double.init), rv.map(Double.init)), eps: 1e-5)
        }
    }

    @Test("batchNorm with frozen gamma and beta still differentiates x")
    func batchNormFrozenAffine() {
        var rng = opRNG("bn.frozen")
        let shape = [2, 3, 4, 5]
        let x = OpInput(shape, rng.normals(NaiveRef.count(shape)))
        let gamma = OpInput([3], rng.normals(3), requiresGrad: false), beta = OpInput([3], rng.normals(3), requiresGrad: false)
        checkOp("batchNorm frozen affine", [x, gamma, beta], rng: &rng) {
            Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: Tensor.zeros([3]),
                             runningVar: Tensor(shape: [3], repeating: 1), training: true)
        } reference: {
            NaiveRef.batchNorm($0[0], shape, gamma: $0[1], beta: $0[2], running: nil, eps: 1e-5)
        }
    }

    // MARK: Pooling

    @Test("avgPool2d gradient", arguments: OpAvgPoolCase.all)
    func avgPool(_ c: OpAvgPoolCase) {
        var rng = opRNG("avgpool.grad " + c.testDescription)
        checkOp("avgPool2d \(c.testDescription)", [OpInput(c.shape, rng.normals(NaiveRef.count(c.shape)))], rng: &rng) {
            $0[0].avgPool2d(kernel: c.kernel, stride: c.stride)
        } reference: {
            NaiveRef.avgPool($0[0], c.shape, kernel: c.kernel, stride: c.stride ?? c.kernel)
        }
    }

    @Test("maxPool2d gradient (distinct inputs)", arguments: OpMaxPoolCase.all)
    func maxPool(_ c: OpMaxPoolCase) {
        var rng = opRNG("maxpool.grad " + c.testDescription)
        checkOp("maxPool2d \(c.testDescription)", [OpInput(c.shape, rng.distinct(NaiveRef.count(c.shape)))], rng: &rng) {
            $0[0].maxPool2d(kernel: c.kernel, stride: c.stride, padding: c.padding)
        } reference: {
            NaiveRef.maxPool($0[0], c.shape, kernel: c.kernel, stride: c.stride, padding: c.padding).out
        }
    }

    @Test("maxPool2d on ties sends each window's gradient to its first maximal element",
          arguments: [OpMaxPoolCase(shape: [1, 2, 5, 5], kernel: 3, stride: 2, padding: 1),
                      OpMaxPoolCase(shape: [2, 1, 5, 6], kernel: 3, stride: 1, padding: 0)])
    func maxPoolTies(_ c: OpMaxPoolCase) {
        var rng = opRNG("maxpool.ties " + c.testDescription)
        // Values from {0, 1}: many ties inside every window.
        let xv: [Float] = (0..<NaiveRef.count(c.shape)).map { _ in rng.nextUnitFloat() < 0.5 ? 0 : 1 }
        let x = Tensor(shape: c.shape, xv, requiresGrad: true)
        let y = x.maxPool2d(kernel: c.kernel, stride: c.stride, padding: c.padding)
        let (ref, argmax) = NaiveRef.maxPool(xv.map(Double.init), c.shape, kernel: c.kernel, stride: c.stride, padding: c.padding)
        expectAllClose(y.scalars, ref.values, .tight, "maxPool2d ties forward")
        let up = rng.normals(y.count)
        y.backward(Tensor(shape: y.shape, up))
        var expected = [Double](repeating: 0, count: xv.count)
        for (k, o) in argmax.enumerated() { expected[o] += Double(up[k]) }
        expectAllClose(x.grad?.scalars ?? [], expected, .forward, "maxPool2d ties gradient")
    }

    @Test("globalAvgPool gradient")
    func globalAvgPool() {
        var rng = opRNG("gap.grad")
        let shape = [3, 4, 5, 7]
        checkOp("globalAvgPool", [OpInput(shape, rng.normals(NaiveRef.count(shape)))], rng: &rng) {
            $0[0].globalAvgPool()
        } reference: {
            NaiveRef.globalAvgPool($0[0], shape)
        }
    }

    // MARK: Element-wise

    @Test("binary op gradients reduce to each operand's shape", arguments: OpBinaryCase.allCases, OpBroadcastPair.all)
    func binary(_ op: OpBinaryCase, _ pair: OpBroadcastPair) {
        var rng = opRNG("binary.grad \(op) " + pair.testDescription)
        let (a, b) = op.operands(pair, rng: &rng)
        let (tensors, _) = checkOp("\(op) \(pair.testDescription)", [OpInput(pair.a, a), OpInput(pair.b, b)], rng: &rng,
                                   upstream: op == .mul ? .sumOfProduct : .backwardArgument) {
            op.apply($0[0], $0[1])
        } reference: {
            NaiveRef.binary($0[0], pair.a, $0[1], pair.b, op.reference)
        }
        #expect(tensors[0].grad?.shape == pair.a)
        #expect(tensors[1].grad?.shape == pair.b)
    }

    @Test("binary op with a frozen operand", arguments: OpBinaryCase.allCases)
    func binaryFrozen(_ op: OpBinaryCase) {
        var rng = opRNG("binary.frozen \(op)")
        let pair = OpBroadcastPair(a: [2, 3, 4], b: [3, 1])
        let (a, b) = op.operands(pair, rng: &rng)
        for frozenA in [false, true] {
            checkOp("\(op) frozen \(frozenA ? "a" : "b")",
                    [OpInput(pair.a, a, requiresGrad: !frozenA), OpInput(pair.b, b, requiresGrad: frozenA)], rng: &rng) {
                op.apply($0[0], $0[1])
            } reference: {
                NaiveRef.binary($0[0], pair.a, $0[1], pair.b, op.reference)
            }
        }
    }

    @Test("unary op and scalar operator gradients", arguments: OpUnaryCase.allCases)
    func unary(_ op: OpUnaryCase) {
        var rng = opRNG("unary.grad \(op)")
        let shape = [3, 5, 7]
        checkOp("\(op)", [OpInput(shape, op.inputs(NaiveRef.count(shape), rng: &rng))], rng: &rng,
                upstream: op.rawValue.count % 2 == 0 ? .backwardArgument : .sumOfProduct) {
            op.apply($0[0])
        } reference: {
            NaiveRef.unary($0[0], shape, op.reference)
        }
    }

    @Test("relu, abs and clamp gradients at their special points")
    func unarySpecialPointGradients() {
        let values: [Float] = [-1, -0.5, 0, 0.7, 2]
        func grad(_ f: (Tensor) -> Tensor) -> [Float] {
            let x = Tensor(shape: [5], values, requiresGrad: true)
            f(x).backward(Tensor(shape: [5], repeating: 1))
            return x.grad?.scalars ?? []
        }
        #expect(grad { $0.relu() } == [0, 0, 0, 1, 1])
        #expect(grad { $0.abs() } == [-1, -1, 0, 1, 1])
        // PyTorch convention: the gradient passes where min <= x <= max (bounds included).
        #expect(grad { $0.clamped(min: -0.5, max: 0.7) } == [0, 1, 1, 1, 0])
    }

    @Test("channelScaled gradient w.r.t. the map and the scales", arguments: [[2, 3, 4, 5], [4, 3]])
    func channelScaled(_ shape: [Int]) {
        var rng = opRNG("channelScaled.grad \(shape)")
        let C = shape[1]
        let bshape = [1, C] + [Int](repeating: 1, count: shape.count - 2)
        checkOp("channelScaled \(shape)", [OpInput(shape, rng.normals(NaiveRef.count(shape))), OpInput([C], rng.normals(C))],
                rng: &rng) {
            $0[0].channelScaled(by: $0[1])
        } reference: {
            NaiveRef.binary($0[0], shape, $0[1], bshape, *)
        }
    }

    // MARK: Reductions

    @Test("sum / mean / max gradients", arguments: OpReductionCase.allCases)
    func reduction(_ r: OpReductionCase) {
        var rng = opRNG("reduction.grad \(r)")
        let shape = OpReductionCase.shape
        checkOp("\(r)", [OpInput(shape, rng.distinct(NaiveRef.count(shape), gap: 0.05))], rng: &rng) {
            r.apply($0[0])
        } reference: {
            r.reference($0[0])
        }
    }

    // MARK: Matrix products

    @Test("matmul gradients for every transpose combination", arguments: [false, true], [false, true])
    func matmul(_ ta: Bool, _ tb: Bool) {
        var rng = opRNG("matmul.grad \(ta) \(tb)")
        let (m, k, n) = (3, 5, 4)
        let aShape = ta ? [k, m] : [m, k], bShape = tb ? [n, k] : [k, n]
        checkOp("matmul tA \(ta) tB \(tb)", [OpInput(aShape, rng.normals(m * k)), OpInput(bShape, rng.normals(k * n))],
                rng: &rng) {
            Tensor.matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
        } reference: {
            NaiveRef.matmul($0[0], aShape, $0[1], bShape, transposeA: ta, transposeB: tb)
        }
    }

    @Test("linear gradients w.r.t. x, weight, bias", arguments: [false, true])
    func linear(_ withBias: Bool) {
        var rng = opRNG("linear.grad \(withBias)")
        var inputs = [OpInput([5, 7], rng.normals(35)), OpInput([3, 7], rng.normals(21))]
        if withBias { inputs.append(OpInput([3], rng.normals(3))) }
        checkOp("linear bias \(withBias)", inputs, rng: &rng) {
            Tensor.linear($0[0], weight: $0[1], bias: withBias ? $0[2] : nil)
        } reference: {
            NaiveRef.linear($0[0], [5, 7], $0[1], [3, 7], bias: withBias ? $0[2] : nil)
        }
    }

    // MARK: Softmax, normalisation

    @Test("softmax and logSoftmax gradients", arguments: [-1, 0, 1], [false, true])
    func softmax(_ axis: Int, _ log: Bool) {
        var rng = opRNG("softmax.grad \(axis) \(log)")
        let shape = [2, 3, 4]
        checkOp("\(log ? "logSoftmax" : "softmax") axis \(axis)", [OpInput(shape, rng.normals(24, std: 2))], rng: &rng) {
            log ? $0[0].logSoftmax(axis: axis) : $0[0].softmax(axis: axis)
        } reference: {
            NaiveRef.softmax($0[0], shape, axis: axis, log: log)
        }
    }

    @Test("l2Normalized gradient", arguments: [([3, 5], 1), ([2, 3, 4], 1), ([2, 3, 4], -1), ([4, 3], 0)])
    func l2Normalized(_ shape: [Int], _ axis: Int) {
        var rng = opRNG("l2.grad \(shape) \(axis)")
        checkOp("l2Normalized \(shape) axis \(axis)", [OpInput(shape, rng.normals(NaiveRef.count(shape)))], rng: &rng) {
            $0[0].l2Normalized(axis: axis)
        } reference: {
            NaiveRef.l2Normalize($0[0], shape, axis: axis, eps: 1e-12)
        }
    }

    @Test("l2Normalized gradient where the norm is clamped to eps")
    func l2NormalizedClamped() {
        var rng = opRNG("l2.clamped")
        // Rows 0 and 2 have norm < 0.5 (clamped), row 1 has norm > 0.5.
        let x: [Float] = [0.1, -0.2, 0.05, 0.8, 0.6, -0.3, -0.15, 0.1, 0.2]
        checkOp("l2Normalized eps 0.5", [OpInput([3, 3], x)], rng: &rng) {
            $0[0].l2Normalized(axis: 1, eps: 0.5)
        } reference: {
            NaiveRef.l2Normalize($0[0], [3, 3], axis: 1, eps: 0.5)
        }
    }

    // MARK: Shape ops

    @Test("reshaped and flattened gradients")
    func reshape() {
        var rng = opRNG("reshape.grad")
        let x = OpInput([2, 3, 4], rng.normals(24))
        checkOp("reshaped", [x], rng: &rng, upstream: .sumOfProduct) {
            $0[0].reshaped([4, -1]).square()
        } reference: {
            NaiveRef.Out(shape: [4, 6], values: $0[0].map { $0 * $0 })
        }
        checkOp("flattened", [x], rng: &rng) {
            $0[0].flattened()
        } reference: {
            NaiveRef.Out(shape: [2, 12], values: $0[0])
        }
    }

    @Test("sliced gradient", arguments: [(0, 1..<3), (1, 1..<2), (2, 0..<3), (-1, 2..<5)])
    func sliced(_ axis: Int, _ range: Range<Int>) {
        var rng = opRNG("slice.grad \(axis) \(range)")
        let shape = [3, 4, 5]
        checkOp("sliced axis \(axis) \(range)", [OpInput(shape, rng.normals(60))], rng: &rng) {
            $0[0].sliced(axis: axis, range)
        } reference: {
            NaiveRef.slice($0[0], shape, axis: axis, range)
        }
    }

    @Test("subsampledZeroPadded gradient: the kept positions only",
          arguments: [([2, 3, 5, 4], 2, 6), ([1, 2, 4, 4], 2, 2), ([2, 2, 6, 7], 3, 5)])
    func subsampledZeroPadded(_ shape: [Int], _ stride: Int, _ channels: Int) {
        var rng = opRNG("subsampledZeroPadded.grad \(shape)")
        checkOp("subsampledZeroPadded \(shape) s\(stride) c\(channels)",
                [OpInput(shape, rng.normals(NaiveRef.count(shape)))], rng: &rng) {
            $0[0].subsampledZeroPadded(stride: stride, channels: channels)
        } reference: {
            NaiveRef.subsampleZeroPad($0[0], shape, stride: stride, channels: channels)
        }
    }

    @Test("concatenate gradient (one frozen part)", arguments: [0, 1, 2])
    func concatenate(_ axis: Int) {
        var rng = opRNG("concat.grad \(axis)")
        var shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
        for (i, extra) in [1, 2, 3].enumerated() { shapes[i][axis] = extra }
        let inputs = shapes.enumerated().map { OpInput($0.element, rng.normals(NaiveRef.count($0.element)), requiresGrad: $0.offset != 1) }
        checkOp("concatenate axis \(axis)", inputs, rng: &rng) {
            Tensor.concatenate($0, axis: axis)
        } reference: {
            NaiveRef.concatenate($0, shapes, axis: axis)
        }
    }

    @Test("the same tensor concatenated twice gets both gradients")
    func concatenateSelf() {
        var rng = opRNG("concat.self")
        checkOp("concatenate [x, x]", [OpInput([2, 3], rng.normals(6))], rng: &rng) {
            Tensor.concatenate([$0[0], $0[0]], axis: 1)
        } reference: {
            NaiveRef.concatenate([$0[0], $0[0]], [[2, 3], [2, 3]], axis: 1)
        }
    }

    @Test("transposed, gathered (repeated indices), selectingRows (repeated rows) gradients")
    func indexing() {
        var rng = opRNG("indexing.grad")
        let x = OpInput([3, 5], rng.normals(15))
        checkOp("transposed", [x], rng: &rng) { $0[0].transposed() } reference: { NaiveRef.transpose($0[0], [3, 5]) }
        let idx = [[4, 0, 4], [1, 1, 2], [3, 0, 1]]
        checkOp("gathered", [x], rng: &rng) { $0[0].gathered(idx) } reference: { NaiveRef.gather($0[0], [3, 5], idx) }
        let rows = [2, 0, 2, 1]
        checkOp("selectingRows", [OpInput([3, 2, 2], rng.normals(12))], rng: &rng) {
            $0[0].selectingRows(rows)
        } reference: {
            NaiveRef.selectRows($0[0], [3, 2, 2], rows)
        }
    }

    // MARK: Losses

    @Test("crossEntropy gradient")
    func crossEntropy() {
        var rng = opRNG("ce.grad")
        let targets = [1, 0, 4, 2, 4]
        checkOp("crossEntropy", [OpInput([5, 5], rng.normals(25, std: 2))], rng: &rng) {
            Tensor.crossEntropy(logits: $0[0], targets: targets)
        } reference: {
            NaiveRef.crossEntropy($0[0], [5, 5], targets: targets)
        }
    }

    @Test("klDivergence gradient w.r.t. the log-input (target constant)", arguments: [LossReduction.mean, .batchMean, .sum])
    func klDivergence(_ reduction: LossReduction) {
        var rng = opRNG("kl.grad \(reduction)")
        let shape = [3, 5]
        let logInput = rng.normals(15)
        var target = NaiveRef.softmax(rng.normals(15).map(Double.init), shape, axis: 1, log: false).values.map(Float.init)
        target[2] = 0
        let divisor: Double = reduction == .mean ? 15 : reduction == .batchMean ? 3 : 1
        checkOp("klDivergence \(reduction)", [OpInput(shape, logInput), OpInput(shape, target, requiresGrad: false)],
                rng: &rng) {
            Tensor.klDivergence(logInput: $0[0], target: $0[1], reduction: reduction)
        } reference: {
            NaiveRef.klDivergence($0[0], $0[1], divisor: divisor)
        }
        // A target that requires a gradient still gets none.
        let t = Tensor(shape: shape, target, requiresGrad: true)
        Tensor.klDivergence(logInput: Tensor(shape: shape, logInput, requiresGrad: true), target: t, reduction: reduction).backward()
        #expect(t.grad == nil)
    }

    @Test("distillationKL gradient w.r.t. the student (teacher detached)",
          arguments: [(Float(1), LossReduction.mean), (2, .batchMean), (4, .sum)])
    func distillationKL(_ temperature: Float, _ reduction: LossReduction) {
        var rng = opRNG("distill.grad \(temperature) \(reduction)")
        let shape = [3, 5]
        let T = Double(temperature)
        let divisor: Double = reduction == .mean ? 15 : reduction == .batchMean ? 3 : 1
        let student = OpInput(shape, rng.normals(15, std: 2)), teacher = OpInput(shape, rng.normals(15, std: 2), requiresGrad: false)
        checkOp("distillationKL T \(temperature) \(reduction)", [student, teacher], rng: &rng) {
            Tensor.distillationKL(student: $0[0], teacher: $0[1], temperature: temperature, reduction: reduction)
        } reference: {
            let lp = NaiveRef.softmax($0[0].map { $0 / T }, shape, axis: 1, log: true).values
            let q = NaiveRef.softmax($0[1].map { $0 / T }, shape, axis: 1, log: false).values
            return NaiveRef.klDivergence(lp, q, divisor: divisor)
        }
        // A teacher that requires a gradient is detached: it gets none.
        let s = Tensor(shape: shape, student.values, requiresGrad: true)
        let t = Tensor(shape: shape, teacher.values, requiresGrad: true)
        Tensor.distillationKL(student: s, teacher: t, temperature: temperature, reduction: reduction).backward()
        #expect(t.grad == nil && s.grad != nil)
    }

    @Test("klDivergence keeps its target alive until backward (regression: it once kept only a raw pointer)")
    func klDivergenceTargetLifetime() {
        // An unusual size (bucket of 2^18 floats in the buffer pool), so that other
        // tests running concurrently are unlikely to take the freed buffer.
        let shape = [256, 513]
        var rng = opRNG("kl.lifetime")
        let targetValues = rng.uniforms(NaiveRef.count(shape), in: 0.1...1)
        let logInput = Tensor(shape: shape, repeating: 0, requiresGrad: true)
        // The target is a temporary, as the softmax of the teacher in distillationKL.
        func makeLoss() -> Tensor {
            Tensor.klDivergence(logInput: logInput, target: Tensor(shape: shape, targetValues), reduction: .sum)
        }
        let loss = makeLoss()
        #expect(loss.requiresGrad)
        // Ordinary allocations between forward and backward get the freed target buffer.
        let others = (0..<4).map { _ in Tensor(shape: shape, repeating: 1e6) }
        loss.backward()
        // d/dx Σ t (log t − x) = −t.
        expectAllClose(logInput.grad?.scalars ?? [], targetValues.map { -Double($0) }, .tight,
                       "klDivergence gradient after the target was released")
        withExtendedLifetime(others) {}
    }

    @Test("cosineSimilarity gradient")
    func cosineSimilarity() {
        var rng = opRNG("cos.grad")
        let shape = [4, 6]
        checkOp("cosineSimilarity", [OpInput(shape, rng.normals(24)), OpInput(shape, rng.normals(24))], rng: &rng) {
            Tensor.cosineSimilarity($0[0], $0[1])
        } reference: {
            NaiveRef.cosineSimilarity($0[0], $0[1], shape, eps: 1e-12)
        }
    }

    @Test("cosineEmbeddingLoss gradient", arguments: [Float(0), 0.2])
    func cosineEmbeddingLoss(_ margin: Float) {
        var rng = opRNG("cosemb.grad \(margin)")
        let (B, D) = (5, 6)
        let targets = [1, -1, 1, -1, -1]
        var a: [Float] = [], b: [Float] = []
        for r in 0..<B {
            // For target −1 rows keep cos − margin away from the hinge.
            while true {
                let ra = rng.normals(D), rb = rng.normals(D)
                let cos = NaiveRef.cosineSimilarity(ra.map(Double.init), rb.map(Double.init), [1, D], eps: 1e-12).values[0]
                if targets[r] == 1 || Swift.abs(cos - Double(margin)) > 0.05 {
                    a += ra; b += rb
                    break
                }
            }
        }
        checkOp("cosineEmbeddingLoss margin \(margin)", [OpInput([B, D], a), OpInput([B, D], b)], rng: &rng) {
            Tensor.cosineEmbeddingLoss($0[0], $0[1], targets: targets, margin: margin)
        } reference: {
            NaiveRef.cosineEmbeddingLoss($0[0], $0[1], [B, D], targets: targets, margin: Double(margin))
        }
    }

    @Test("marginRankingLoss gradient", arguments: [Float(1), -1])
    func marginRankingLoss(_ target: Float) {
        var rng = opRNG("ranking.grad \(target)")
        let margin: Float = 0.1
        var x1: [Float] = [], x2: [Float] = []
        while x1.count < 7 {
            let p = rng.nextNormal(), q = rng.nextNormal()
            if Swift.abs(-target * (p - q) + margin) > 0.02 { x1.append(p); x2.append(q) }
        }
        checkOp("marginRankingLoss target \(target)", [OpInput([7], x1), OpInput([7], x2)], rng: &rng) {
            Tensor.marginRankingLoss($0[0], $0[1], target: target, margin: margin)
        } reference: {
            NaiveRef.marginRankingLoss($0[0], $0[1], target: Double(target), margin: Double(margin))
        }
    }

    // MARK: A small network end to end

    @Test("conv → batchNorm → relu → maxPool → globalAvgPool → linear → crossEntropy")
    func composite() {
        var rng = opRNG("composite.grad")
        let xs = [2, 3, 7, 5], ws = [4, 3, 3, 3], fs = [3, 4]
        let targets = [2, 0]
        let x = OpInput(xs, rng.normals(NaiveRef.count(xs)), requiresGrad: false)
        let w = OpInput(ws, rng.normals(NaiveRef.count(ws), std: 0.4))
        let gamma = OpInput([4], rng.normals(4, mean: 1, std: 0.3)), beta = OpInput([4], rng.normals(4, std: 0.3))
        let fc = OpInput(fs, rng.normals(12)), bias = OpInput([3], rng.normals(3))
        checkOp("composite", [x, w, gamma, beta, fc, bias], rng: &rng) { t in
            let h = Tensor.conv2d(t[0], weight: t[1], stride: 1, padding: 1)
            let n = Tensor.batchNorm(h, gamma: t[2], beta: t[3], runningMean: Tensor.zeros([4]),
                                     runningVar: Tensor(shape: [4], repeating: 1), training: true)
            let p = n.relu().maxPool2d(kernel: 3, stride: 2, padding: 1).globalAvgPool()
            return Tensor.crossEntropy(logits: Tensor.linear(p, weight: t[4], bias: t[5]), targets: targets)
        } reference: { v in
            let h = NaiveRef.conv2d(v[0], xs, v[1], ws, stride: 1, padding: 1)
            let n = NaiveRef.batchNorm(h.values, h.shape, gamma: v[2], beta: v[3], running: nil, eps: 1e-5)
            let r = n.values.map { Swift.max($0, 0) }
            let m = NaiveRef.maxPool(r, h.shape, kernel: 3, stride: 2, padding: 1).out
            let g = NaiveRef.globalAvgPool(m.values, m.shape)
            let l = NaiveRef.linear(g.values, g.shape, v[4], fs, bias: v[5])
            return NaiveRef.crossEntropy(l.values, l.shape, targets: targets)
        }
    }

    // MARK: Graph semantics

    @Test("frozen leaves get no gradient and cut the graph")
    func frozenLeaves() {
        let w = Tensor(shape: [2, 2], [1, 2, 3, 4])          // frozen
        let b = Tensor(shape: [2], [0.5, -0.5], requiresGrad: true)
        let x = Tensor(shape: [3, 2], [1, 0, 0, 1, 1, 1])    // frozen input
        let frozenPath = Tensor.linear(x, weight: w)          // no input requires a gradient
        #expect(!frozenPath.requiresGrad && frozenPath.gradFn == nil)
        let y = (frozenPath + b).sum()
        y.backward()
        #expect(w.grad == nil && x.grad == nil)
        #expect(b.grad?.scalars == [3, 3])
        #expect(b.grad?.shape == [2])
    }

    @Test("gradients accumulate across backward() on different graphs")
    func accumulationAcrossGraphs() {
        var rng = opRNG("accumulate")
        let xv = rng.normals(6)
        let u1 = rng.normals(6), u2 = rng.normals(6)
        let x = Tensor(shape: [2, 3], xv, requiresGrad: true)
        (x.square() * Tensor(shape: [2, 3], u1)).sum().backward()
        let first = x.grad?.scalars ?? []
        var expected = [Double](repeating: 0, count: 6)
        for i in 0..<6 {
            let xi = Double(xv[i])
            expected[i] = 2.0 * xi * Double(u1[i])
        }
        expectAllClose(first, expected, .forward, "first backward")
        x.exp().backward(Tensor(shape: [2, 3], u2))
        for i in 0..<6 {
            let xi = Double(xv[i])
            expected[i] += Foundation.exp(xi) * Double(u2[i])
        }
        expectAllClose(x.grad?.scalars ?? [], expected, .forward, "accumulated gradient after the second backward")

        // The same for a parameter shared by two forward passes (e.g. two batches).
        let w = Tensor(shape: [3, 2], rng.normals(6), requiresGrad: true)
        let a = Tensor(shape: [4, 2], rng.normals(8)), c = Tensor(shape: [1, 2], rng.normals(2))
        Tensor.linear(a, weight: w).sum().backward()
        Tensor.linear(c, weight: w).sum().backward()
        // d/dW Σ x Wᵀ = column sums of x, broadcast over the output rows.
        let av = a.scalars, cv = c.scalars
        var colSum: [Double] = [Double(cv[0]), Double(cv[1])]
        for r in 0..<4 {
            for j in 0..<2 { colSum[j] += Double(av[r * 2 + j]) }
        }
        let expectedW: [Double] = (0..<6).map { colSum[$0 % 2] }
        expectAllClose(w.grad?.scalars ?? [], expectedW, .forward, "shared weight over two graphs")
    }

    @Test("a tensor used several times in one graph gets the sum of its gradients")
    func reuseWithinGraph() {
        var rng = opRNG("reuse")
        checkOp("x*x + x + x.exp()", [OpInput([2, 3], rng.normals(6))], rng: &rng) {
            $0[0] * $0[0] + $0[0] + $0[0].exp()
        } reference: {
            NaiveRef.Out(shape: [2, 3], values: $0[0].map { $0 * $0 + $0 + Foundation.exp($0) })
        }
        checkOp("x + x (aliased gradients)", [OpInput([4], rng.normals(4))], rng: &rng) {
            ($0[0] + $0[0]).reshaped([2, 2]) + $0[0].reshaped([2, 2])
        } reference: {
            NaiveRef.Out(shape: [2, 2], values: $0[0].map { 3 * $0 })
        }
    }

    @Test("backward() on a scalar seeds with 1; the gradient of a leaf is its own copy")
    func defaultSeed() {
        let x = Tensor(shape: [3], [1, 2, 3], requiresGrad: true)
        let loss = (x * x).sum()
        #expect(loss.shape == [])
        loss.backward()
        #expect(x.grad?.scalars == [2, 4, 6])
        // A leaf's .grad must not alias the seed or an intermediate.
        let y = Tensor(shape: [2], [1, 1], requiresGrad: true)
        let seed = Tensor(shape: [2], [5, 7])
        y.reshaped([2]).backward(seed)
        seed.fill(0)
        #expect(y.grad?.scalars == [5, 7])
    }
}
