// Values derived from a storage's contents (`TensorStorage.derived`): reused while the
// contents keep their version, recomputed after any write through the mutating API
// (`withUnsafeMutableBufferPointer`, `assign`, `fill`, an SGD step). A convolution whose
// weight gets no gradient keeps its transformed (Winograd) or packed (direct) weights
// this way: its outputs and input gradients must be bit-identical to those of a fresh
// copy of the weight, before and after the weight changes.

import CILSDK
import Foundation
import Testing

/// The elements of `a` and `b` are equal, bit for bit.
private func sameBits(_ a: Tensor, _ b: Tensor) -> Bool {
    a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { $0.0.bitPattern == $0.1.bitPattern }
}

@Suite("Derived weights")
struct DerivedWeightTests {
    /// `make` runs once per version; `markModified` bumps the version and drops the value.
    @Test func derivedValueIsReusedUntilAWrite() {
        let storage = TensorStorage(count: 8, repeating: 1)
        let key = TensorStorage.DerivedKey("test", [1])
        var made = 0
        let make = { () -> TensorStorage in made += 1; return TensorStorage(count: 2, repeating: Float(made)) }
        let first = storage.derived(key, make: make)
        #expect(storage.derived(key, make: make) === first)
        #expect(made == 1 && storage.derivedValueCount == 1)
        let v = storage.version
        storage.markModified()
        #expect(storage.version == v + 1 && storage.derivedValueCount == 0)
        let second = storage.derived(key, make: make)
        #expect(second !== first && made == 2)
        #expect(storage.derived(TensorStorage.DerivedKey("test", [2]), make: make) !== second && made == 3)
    }

    /// Every mutating entry point of `Tensor` and an SGD step count as writes.
    @Test func writesBumpTheVersion() {
        let t = Tensor(shape: [4], [1, 2, 3, 4], requiresGrad: true)
        var last = t.version
        func bumped() -> Bool { defer { last = t.version }; return t.version > last }
        t.withUnsafeMutableBufferPointer { $0[0] = 5 }
        #expect(bumped())
        t.assign(Tensor(shape: [4], [0, 0, 0, 1]))
        #expect(bumped())
        t.fill(2)
        #expect(bumped())
        t.grad = Tensor(shape: [4], repeating: 1)
        SGD(groups: [ParameterGroup(parameters: [t], learningRate: 0.1)]).step()
        #expect(bumped())
        _ = t.scalars
        #expect(!bumped())
    }

    /// A no-grad Winograd convolution (32 → 32 at 16×16: F(4×4)) keeps its transformed
    /// weights and reuses them; its output stays bit-identical to a fresh weight's; a
    /// write to the weight (in place, then an SGD step) changes the output to that of
    /// the new weight.
    @Test(arguments: [[2, 32, 16, 16, 32], [2, 3, 16, 16, 16]])
    func noGradConvolutionReusesItsWeights(_ dims: [Int]) {
        let (n, c, h, o) = (dims[0], dims[1], dims[2], dims[4])
        var rng = opRNG("derived weights \(dims)")
        let x = Initializers.normal([n, c, h, h], std: 1, rng: &rng)
        let weight = Initializers.normal([o, c, 3, 3], std: 0.2, rng: &rng)
        weight.requiresGrad = true
        func conv(_ w: Tensor) -> Tensor { withNoGrad { Tensor.conv2d(x, weight: w, stride: 1, padding: 1) } }

        let first = conv(weight)
        #expect(weight.storage.derivedValueCount == 1)
        let second = conv(weight)
        #expect(weight.storage.derivedValueCount == 1)
        #expect(sameBits(first, second))
        #expect(sameBits(first, conv(weight.copy())))

        weight.withUnsafeMutableBufferPointer { $0[0] += 0.5 }
        #expect(weight.storage.derivedValueCount == 0)
        let changed = conv(weight)
        #expect(!sameBits(changed, first))
        #expect(sameBits(changed, conv(weight.copy())))

        weight.grad = Initializers.normal(weight.shape, std: 1, rng: &rng)
        SGD(groups: [ParameterGroup(parameters: [weight], learningRate: 0.1)]).step()
        let stepped = conv(weight)
        #expect(!sameBits(stepped, changed))
        #expect(sameBits(stepped, conv(weight.copy())))
    }

    /// A training convolution (the weight gets a gradient) keeps nothing; a frozen
    /// weight keeps its forward and transposed (input-gradient) transforms, and the input
    /// gradients through it stay bit-identical to a fresh weight's.
    @Test func frozenWeightKeepsItsInputGradientTransform() {
        var rng = opRNG("derived weights backward")
        let x = Initializers.normal([2, 16, 8, 8], std: 1, rng: &rng)
        let upstream = Initializers.normal([2, 16, 8, 8], std: 1, rng: &rng)
        let weight = Initializers.normal([16, 16, 3, 3], std: 0.2, rng: &rng)
        weight.requiresGrad = true
        (Tensor.conv2d(x, weight: weight, stride: 1, padding: 1) * upstream).sum().backward()
        #expect(weight.storage.derivedValueCount == 0)

        weight.requiresGrad = false
        func inputGradient(_ w: Tensor) -> Tensor {
            let xi = x.copy(requiresGrad: true)
            (Tensor.conv2d(xi, weight: w, stride: 1, padding: 1) * upstream).sum().backward()
            return xi.grad!
        }
        let first = inputGradient(weight)
        #expect(weight.storage.derivedValueCount == 2)
        #expect(sameBits(first, inputGradient(weight)))
        #expect(sameBits(first, inputGradient(weight.copy())))
        weight.fill(0.01)
        let changed = inputGradient(weight)
        #expect(!sameBits(changed, first))
        #expect(sameBits(changed, inputGradient(weight.copy())))
    }

    /// Gradients that reach a tensor along several paths add up to the same bits whether
    /// the accumulator is updated in place or not, and an accumulator shared with another
    /// tensor's gradient (add's backward hands both inputs one tensor) is never written.
    @Test func accumulatedGradientsAreExactAndUnaliased() {
        var rng = opRNG("gradient accumulation")
        let x = Initializers.normal([3, 5], std: 1, rng: &rng)
        x.requiresGrad = true
        let y = Initializers.normal([3, 5], std: 1, rng: &rng)
        y.requiresGrad = true
        let a = Initializers.normal([3, 5], std: 1, rng: &rng)
        let b = Initializers.normal([3, 5], std: 1, rng: &rng)
        let c = Initializers.normal([3, 5], std: 1, rng: &rng)
        // d/dx = a + b + c (three paths), d/dy = a (shared with x's first path).
        ((x + y) * a + x * b + x * c).sum().backward()
        #expect(y.grad!.scalars == a.scalars)
        let expected = zip(zip(a.scalars, b.scalars), c.scalars).map { pair, c3 in
            Set([(pair.0 + pair.1) + c3, (pair.0 + c3) + pair.1, (pair.1 + c3) + pair.0])
        }
        #expect(zip(x.grad!.scalars, expected).allSatisfy { $0.1.contains($0.0) })
    }
}
