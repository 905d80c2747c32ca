import CILSDK
import Testing

/// α learning (docs/ALGORITHMS.md §5): evaluation-mode BN, cross-entropy, SGD on α
/// alone, and the two gradient policies.
@Suite("AlphaLearner")
struct AlphaLearnerTests {
    func dualNetwork(seed: UInt64) throws -> AggregatedNetwork {
        let net = trainedSmallNetwork(seed: seed)
        var rng = RandomGenerator(seed: seed + 100)
        try net.deriveBranches(stable: TestScaleShiftBranch(), plastic: TestFreeBranch(), rng: &rng)
        // Make the branches differ so that α has a gradient (noise, not a scale: BN
        // in training mode would normalise a scale away).
        for conv in net.plastic!.flatMap(\.convolutions) {
            conv.weight.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] += 0.2 * rng.nextNormal() } }
        }
        return net
    }

    /// One step: α moves by exactly the SGD update of its cross-entropy gradient
    /// computed with BN in evaluation mode; blocks do not change and get no gradient.
    @Test func stepUpdatesAlphaOnly() throws {
        let net = try dualNetwork(seed: 21)
        var rng = RandomGenerator(seed: 1)
        let x = Initializers.normal([5, 3, 32, 32], std: 1, rng: &rng)
        let y = [0, 1, 2, 3, 4]
        // The expected gradient, from an eval-mode copy.
        let probe = net.frozenCopy()
        for a in probe.alphas { a.requiresGrad = true }
        Tensor.crossEntropy(logits: probe.forward(x).logits, targets: y).backward()
        let g = probe.alphas.map { $0.grad!.item }
        let blocksBefore = net.blockParameters.map(\.scalars)
        let runningBefore = net.stable[0].batchNorms[0].runningMean.scalars
        let learner = AlphaLearner(network: net, learningRate: 0.01, policy: .zeroPerStep)
        learner.step(images: x, labels: y)
        for k in 0..<3 {
            // First step: buf = g + wd·α; α ← α − lr·buf (float32, as PyTorch).
            let expected: Float = 0.5 - 0.01 * (g[k] + 5e-4 * 0.5)
            #expect(abs(net.alphas[k].item - expected) < 1e-7, "level \(k + 1)")
        }
        #expect(net.blockParameters.map(\.scalars) == blocksBefore)
        #expect(net.blockParameters.allSatisfy { $0.grad == nil }, "the α pass computes no weight gradients")
        #expect(net.stable[0].batchNorms[0].runningMean.scalars == runningBefore, "BN in evaluation mode")
        #expect(net.isTraining, "the network's mode is restored")
    }

    /// `accumulate` (faithful LUCIR) sums the training batches' α gradient into the
    /// step; `zeroPerStep` discards it.
    @Test func policiesDifferOnlyInTheGradientTheyKeep() throws {
        var results: [AlphaGradientPolicy: [Float]] = [:]
        for policy in AlphaGradientPolicy.allCases {
            let net = try dualNetwork(seed: 22)
            var rng = RandomGenerator(seed: 2)
            let train = Initializers.normal([4, 3, 32, 32], std: 1, rng: &rng)
            let balanced = Initializers.normal([4, 3, 32, 32], std: 1, rng: &rng)
            let learner = AlphaLearner(network: net, learningRate: 0.01, policy: policy)
            // A training batch's backward leaves a gradient on α.
            Tensor.crossEntropy(logits: net.forward(train).logits, targets: [0, 1, 2, 3]).backward()
            #expect(net.alphas[0].grad != nil)
            learner.step(images: balanced, labels: [4, 5, 0, 1])
            results[policy] = net.alphas.map(\.item)
        }
        #expect(results[.accumulate] != results[.zeroPerStep])
    }

    /// PyTorch 1.2's in-place weight decay: under `accumulate` each step leaves
    /// wd·α (α before the step) in the gradient, so the next step's buffer carries
    /// it; without the flag the gradient is the sum of the batches' gradients alone.
    @Test func decayStaysInTheAccumulatedGradientWhenAsked() throws {
        var grads: [Bool: [Float]] = [:]
        var alphasBefore: [Float] = []
        var batchGrads: [Float] = []
        for stays in [false, true] {
            let net = try dualNetwork(seed: 24)
            var rng = RandomGenerator(seed: 4)
            let x = Initializers.normal([4, 3, 32, 32], std: 1, rng: &rng)
            let learner = AlphaLearner(network: net, learningRate: 0.01, policy: .accumulate, decayStaysInGradient: stays)
            // The batch gradient, from an eval-mode copy.
            let probe = net.frozenCopy()
            for a in probe.alphas { a.requiresGrad = true }
            Tensor.crossEntropy(logits: probe.forward(x).logits, targets: [0, 1, 2, 3]).backward()
            batchGrads = probe.alphas.map { $0.grad!.item }
            alphasBefore = net.alphas.map(\.item)
            learner.step(images: x, labels: [0, 1, 2, 3])
            grads[stays] = net.alphas.map { $0.grad!.item }
        }
        for k in 0..<3 {
            #expect(abs(grads[false]![k] - batchGrads[k]) < 1e-6, "level \(k + 1): out-of-place decay")
            #expect(abs(grads[true]![k] - (batchGrads[k] + 5e-4 * alphasBefore[k])) < 1e-6, "level \(k + 1): in-place decay")
        }
    }

    /// With fusion_lr 1e-8 the float32 α stays exactly 0.5 while |lr·buf| < 2⁻²⁶.
    @Test func tinyLearningRateLeavesAlphaAtOneHalf() throws {
        let net = try dualNetwork(seed: 23)
        var rng = RandomGenerator(seed: 3)
        let learner = AlphaLearner(network: net, learningRate: 1e-8, policy: .zeroPerStep)
        for _ in 0..<3 {
            learner.step(images: Initializers.normal([4, 3, 32, 32], std: 1, rng: &rng), labels: [0, 1, 2, 3])
        }
        #expect(net.alphas.allSatisfy { $0.item == 0.5 })
    }
}
