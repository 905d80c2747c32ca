import CILSDK
import Testing

/// The MANets network of docs/ALGORITHMS.md §3: aggregation, branch derivation, the
/// sanity identity of §3.4, the frozen reference copy, optimizer groups.
@Suite("AggregatedNetwork")
struct AggregatedNetworkTests {
    /// docs/ALGORITHMS.md §3.4: a dual free/free network with α = 0.5, both branches
    /// copies of the phase-0 network, computes the same outputs as that network; each
    /// branch gets half of its backbone gradient and the head the full gradient.
    @Test(arguments: [false, true])
    func dualFreeFreeEqualsTheSingleNetwork(training: Bool) throws {
        let single = trainedSmallNetwork(seed: 11)
        let dual = trainedSmallNetwork(seed: 11)
        var rng = RandomGenerator(seed: 5)
        try dual.deriveBranches(stable: TestFreeBranch(), plastic: TestFreeBranch(), rng: &rng)
        #expect(dual.alphas.map(\.item) == [0.5, 0.5, 0.5])
        single.setTraining(training); dual.setTraining(training)
        for (_, p) in single.namedParameters() + dual.namedParameters() { p.grad = nil }
        let x = Initializers.normal([4, 3, 32, 32], std: 1, rng: &rng)
        let y = [0, 3, 5, 1]
        let a = single.forward(x), b = dual.forward(x)
        #expect(worstError(b.logits.scalars, a.logits.scalars) <= 1)
        #expect(worstError(b.features.scalars, a.features.scalars) <= 1)
        for (ma, mb) in zip(a.levelMaps, b.levelMaps) { #expect(worstError(mb.scalars, ma.scalars) <= 1) }

        Tensor.crossEntropy(logits: a.logits, targets: y).backward()
        Tensor.crossEntropy(logits: b.logits, targets: y).backward()
        let singleParams = single.stable.flatMap { $0.namedParameters() }
        for branch in [dual.stable, dual.plastic!] {
            let params = branch.flatMap { $0.namedParameters() }
            for ((name, p), (_, q)) in zip(params, singleParams) {
                let half = q.grad!.scalars.map { $0 * 0.5 }
                #expect(worstError(p.grad!.scalars, half, atol: 1e-6, rtol: 1e-3) <= 1, "\(name)")
            }
        }
        let sg = (single.head as! CosineHead).newWeight.grad!.scalars
        let dg = (dual.head as! CosineHead).newWeight.grad!.scalars
        #expect(worstError(dg, sg, atol: 1e-6, rtol: 1e-3) <= 1, "the head gets the full gradient")
    }

    /// Aggregation is α·B1 + (1−α)·B2 at every level, with the raw α.
    @Test func aggregationMixesWithAlpha() throws {
        let net = trainedSmallNetwork(seed: 12)
        var rng = RandomGenerator(seed: 6)
        try net.deriveBranches(stable: TestScaleShiftBranch(), plastic: TestFreeBranch(), rng: &rng)
        net.setTraining(false)
        // Make the branches differ, and α unusual (no clipping: 1.3 is allowed).
        net.plastic![1].convolutions[0].weight.fill(0.01)
        net.alphas[0].fill(0.25); net.alphas[1].fill(1.3); net.alphas[2].fill(0.5)
        let x = Initializers.normal([2, 3, 32, 32], std: 1, rng: &rng)
        let out = withNoGrad { net.forward(x) }
        var h = x
        for k in 0..<3 {
            let a = withNoGrad { net.stable[k](h) }, b = withNoGrad { net.plastic![k](h) }
            let alpha = net.alphas[k].item
            let expected = zip(a.scalars, b.scalars).map { alpha * $0 + (1 - alpha) * $1 }
            #expect(worstError(out.levelMaps[k].scalars, expected) <= 1, "level \(k + 1)")
            h = out.levelMaps[k]
        }
    }

    /// `ss`: the stored kernels stay exactly the phase-0 values through training,
    /// while the scales and BN parameters move; a frozen kernel gets no gradient.
    @Test func scaleShiftKernelsNeverChange() throws {
        let net = trainedSmallNetwork(seed: 13)
        let phaseZeroKernels = net.stable.flatMap { $0.convolutions.map(\.weight.scalars) }
        var rng = RandomGenerator(seed: 7)
        try net.deriveBranches(stable: TestScaleShiftBranch(), plastic: TestFreeBranch(), rng: &rng)
        let convs = net.stable.flatMap(\.convolutions)
        #expect(convs.count == 1 + 3 * 2 + 2, "stem, two convs per block, two shortcuts")
        #expect(convs.allSatisfy { !$0.weight.requiresGrad && $0.kernelAdapter is ChannelPairScaleAdapter })
        let scalesBefore = convs.map { ($0.kernelAdapter as! ChannelPairScaleAdapter).scale.scalars }
        #expect(scalesBefore.allSatisfy { $0.allSatisfy { $0 == 1 } }, "scales start at 1")
        let gammaBefore = net.stable[0].batchNorms[0].gamma.scalars
        let sgd = SGD(groups: OptimizerGroups.make(for: net, learningRate: 0.1, weightDecay: 5e-4, mode: .faithful))
        for _ in 0..<3 {
            let x = Initializers.normal([6, 3, 32, 32], std: 1, rng: &rng)
            sgd.zeroGrad()
            Tensor.crossEntropy(logits: net.forward(x).logits, targets: [0, 1, 2, 3, 4, 5]).backward()
            sgd.step()
        }
        #expect(convs.map(\.weight.scalars) == phaseZeroKernels, "frozen kernels changed")
        #expect(convs.allSatisfy { $0.weight.grad == nil }, "a frozen kernel must get no gradient")
        let scalesAfter = convs.map { ($0.kernelAdapter as! ChannelPairScaleAdapter).scale.scalars }
        #expect(scalesAfter != scalesBefore)
        #expect(net.stable[0].batchNorms[0].gamma.scalars != gammaBefore)
    }

    /// The gradient of the `ss` scale against central differences: the conv is
    /// linear in s, so differences are exact up to rounding.
    @Test func scaleShiftScaleGradient() {
        var rng = RandomGenerator(seed: 8)
        let conv = Conv2d(3, 4, kernel: 3, stride: 2, padding: 1, rng: &rng)
        conv.weight.requiresGrad = false
        let adapter = ChannelPairScaleAdapter(outChannels: 4, inChannels: 3)
        adapter.scale.withUnsafeMutableBufferPointer { s in for i in s.indices { s[i] = 0.5 + rng.nextUnitFloat() } }
        conv.kernelAdapter = adapter
        let x = Initializers.normal([2, 3, 7, 6], std: 1, rng: &rng)
        x.requiresGrad = true
        let upstream = Initializers.normal([2, 4, 4, 3], std: 1, rng: &rng)
        func loss() -> Double {
            withNoGrad { (conv(x) * upstream).sum().scalars.map(Double.init)[0] }
        }
        (conv(x) * upstream).sum().backward()
        let analytic = adapter.scale.grad!.scalars
        var numeric: [Float] = []
        let h: Float = 1e-2
        for i in 0..<adapter.scale.count {
            let s0 = adapter.scale.scalars[i]
            adapter.scale.withUnsafeMutableBufferPointer { $0[i] = s0 + h }
            let up = loss()
            adapter.scale.withUnsafeMutableBufferPointer { $0[i] = s0 - h }
            let down = loss()
            adapter.scale.withUnsafeMutableBufferPointer { $0[i] = s0 }
            numeric.append(Float((up - down) / Double(2 * h)))
        }
        #expect(worstError(analytic, numeric, atol: 1e-3, rtol: 1e-3) <= 1)
        #expect(conv.weight.grad == nil)
        #expect(x.grad != nil)
    }

    /// The reference model is a deep, frozen, evaluation-mode copy with α copied.
    @Test func frozenCopyIsIndependent() throws {
        let net = trainedSmallNetwork(seed: 14)
        var rng = RandomGenerator(seed: 9)
        try net.deriveBranches(stable: TestScaleShiftBranch(), plastic: TestFreeBranch(), rng: &rng)
        net.alphas[1].fill(0.7)
        let old = net.frozenCopy()
        #expect(old.alphas.map(\.item) == net.alphas.map(\.item))
        #expect(!old.isTraining && old.stable.allSatisfy { !$0.isTraining })
        #expect(old.namedParameters().allSatisfy { !$0.1.requiresGrad })
        let x = Initializers.normal([2, 3, 32, 32], std: 1, rng: &rng)
        net.setTraining(false)
        let before = withNoGrad { old.forward(x).logits.scalars }
        #expect(before == withNoGrad { net.forward(x).logits.scalars })
        net.alphas[1].fill(0.2)
        net.plastic![2].convolutions[0].weight.fill(0)
        #expect(withNoGrad { old.forward(x).logits.scalars } == before)
        let out = old.forward(x)
        #expect(!out.logits.requiresGrad, "the reference model records no graph")
    }

    /// The groups of docs/ALGORITHMS.md §3.3: branch groups, old-class head rows frozen,
    /// new rows and σ with branch 1's group (faithful) or the base rate (corrected).
    @Test func optimizerGroupsFollowTheBranches() throws {
        let net = trainedSmallNetwork(seed: 15)
        let phaseZero = OptimizerGroups.make(for: net, learningRate: 0.1, weightDecay: 5e-4, mode: .faithful)
        #expect(phaseZero.count == 1 && phaseZero[0].learningRate == 0.1)
        #expect(phaseZero[0].parameters.count == net.trainableParameters.count)
        var rng = RandomGenerator(seed: 10)
        net.head.expand(by: 3, rng: &rng)
        try net.deriveBranches(stable: TestFixedBranch(), plastic: TestFreeBranch(), rng: &rng)
        let head = net.head as! CosineHead
        #expect(head.oldWeight!.shape == [6, 64] && !head.oldWeight!.requiresGrad)
        let faithful = OptimizerGroups.make(for: net, learningRate: 0.1, weightDecay: 5e-4, mode: .faithful)
        #expect(faithful.filter { $0.name.hasPrefix("fixed") }.allSatisfy { $0.learningRate == 0 && $0.weightDecay == 0 })
        #expect(faithful.filter { $0.name.hasPrefix("free") }.allSatisfy { $0.learningRate == 0.1 && $0.weightDecay == 5e-4 })
        let headGroup = faithful.first { $0.name == "head" }!
        #expect(headGroup.learningRate == 0 && headGroup.weightDecay == 0, "faithful: fixed branch 1 freezes σ and fc2")
        #expect(headGroup.parameters.count == 2)
        #expect(!faithful.flatMap(\.parameters).contains { $0 === head.oldWeight! })
        let corrected = OptimizerGroups.make(for: net, learningRate: 0.1, weightDecay: 5e-4, mode: .corrected)
        #expect(corrected.first { $0.name == "head" }!.learningRate == 0.1)
        #expect(faithful.allSatisfy { $0.momentum == 0.9 })
    }
}
