import CILSDK
import Testing

/// The `ss` kernel θ ⊙ s (`ChannelPairScaleAdapter`): without a graph it is computed once
/// and reused while θ and s keep their versions; a write to either (in place, `assign`,
/// an SGD step) makes the next call recompute it; with a graph every call builds a new
/// product. Outputs through the conv stay bit-identical to a fresh computation.
@Suite("ss kernel reuse")
struct ScaleShiftKernelReuseTests {
    private func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    @Test func noGradKernelIsReusedUntilThetaOrScaleChanges() {
        var rng = RandomGenerator(seed: 21)
        let conv = Conv2d(16, 16, kernel: 3, padding: 1, rng: &rng)
        conv.weight.requiresGrad = false
        let adapter = ChannelPairScaleAdapter(outChannels: 16, inChannels: 16)
        adapter.scale.withUnsafeMutableBufferPointer { s in for i in s.indices { s[i] = 0.5 + rng.nextUnitFloat() } }
        conv.kernelAdapter = adapter
        let x = Initializers.normal([2, 16, 8, 8], std: 1, rng: &rng)
        /// The conv's output from θ ⊙ s computed afresh, outside the adapter.
        func fresh() -> [UInt32] {
            withNoGrad { bits(Tensor.conv2d(x, weight: conv.weight.copy() * adapter.scale.copy(), stride: 1, padding: 1)) }
        }

        let k1 = withNoGrad { adapter.effectiveKernel(conv.weight) }
        #expect(withNoGrad { adapter.effectiveKernel(conv.weight) } === k1)
        let y1 = withNoGrad { bits(conv(x)) }
        #expect(withNoGrad { bits(conv(x)) } == y1)
        #expect(y1 == fresh())
        #expect(k1.storage.derivedValueCount == 1) // the conv's transformed weights, kept with the kernel

        adapter.scale.withUnsafeMutableBufferPointer { $0[3] *= 2 }
        let k2 = withNoGrad { adapter.effectiveKernel(conv.weight) }
        #expect(k2 !== k1)
        let y2 = withNoGrad { bits(conv(x)) }
        #expect(y2 != y1 && y2 == fresh())

        conv.weight.assign(Initializers.normal(conv.weight.shape, std: 0.1, rng: &rng))
        #expect(withNoGrad { adapter.effectiveKernel(conv.weight) } !== k2)
        let y3 = withNoGrad { bits(conv(x)) }
        #expect(y3 != y2 && y3 == fresh())

        adapter.scale.requiresGrad = true
        adapter.scale.grad = Initializers.normal(adapter.scale.shape, std: 1, rng: &rng)
        SGD(groups: [ParameterGroup(parameters: [adapter.scale], learningRate: 0.1)]).step()
        let y4 = withNoGrad { bits(conv(x)) }
        #expect(y4 != y3 && y4 == fresh())
    }

    /// A product that records a gradient is never shared: every call is a new graph node.
    @Test func kernelWithAGraphIsNotReused() {
        var rng = RandomGenerator(seed: 22)
        let weight = Initializers.normal([4, 3, 3, 3], std: 0.2, rng: &rng)
        let adapter = ChannelPairScaleAdapter(outChannels: 4, inChannels: 3)
        let a = adapter.effectiveKernel(weight), b = adapter.effectiveKernel(weight)
        #expect(a !== b)
        #expect(a.gradFn != nil && b.gradFn != nil)
        #expect(a.scalars == b.scalars)
    }
}
