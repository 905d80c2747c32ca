// PODNet's class-balanced finetuning as the host runs it: the plugin's own request
// (phaseDidEnd) driven through the SDK's HeadFinetuningStep on a small network with
// PODNet's head. One step is checked element by element against SGD written out,
// w − lr·(clamp(g, −5, 5) + wd·w), with g from an independent copy of the model.

import CILSDK
import Foundation
import Testing

@Suite("PODNet finetuning (HeadFinetuningStep on the plugin's request)")
struct PODNetFinetuningTests {
    struct Setup {
        let network: AggregatedNetwork
        let head: LocalSimilarityHead
        let request: HeadFinetuning
    }

    /// A ResNet-8 with PODNet's head (2 proxies a class), 2 old + 2 new classes, and the
    /// plugin's finetuning request after phase 1.
    static func setUp(mode: FidelityMode) throws -> Setup {
        let podnet = try instantiate(try BuiltPlugins.podnet(), options: ["proxies": "2"],
                                     setting: runSetting(dataset: "cifar100", mode: mode))
        var rng = RandomGenerator(seed: 31)
        let backbone = ResNet.cifar(blocksPerStage: 1, rng: &rng)
        let head = try #require(try podnet.makeHead(featureDimension: backbone.featureDimension, classCount: 2, rng: &rng)
            as? LocalSimilarityHead)
        let network = AggregatedNetwork(backbone: backbone, head: head, branchMode: .single)
        head.expand(by: 2, rng: &rng)
        overwrite(head.scale, with: [2.5])
        let box = FinetuneRequests()
        try podnet.phaseDidEnd(PhaseEndContext(phase: 1, classes: ClassCounts(old: 2, new: 2), head: head,
                                               finetuneHead: { box.requests.append($0) }))
        return Setup(network: network, head: head, request: try #require(box.requests.first))
    }

    static var images: Tensor { Tensor(shape: [6, 3, 32, 32], randomValues(6 * 3 * 32 * 32, seed: 90, in: -2...2)) }
    static let targets = [0, 1, 2, 3, 2, 1]
    static let classes = ClassCounts(old: 2, new: 2)

    /// The gradient of `request`'s loss with respect to the old and new proxies, on
    /// a copy of the network and head in the batch-norm mode the request asks for.
    static func referenceGradients(_ s: Setup, loss: (BatchContext) throws -> LossOutput) throws -> (old: [Float], new: [Float]) {
        let copy = s.network.frozenCopy()
        copy.setTraining(s.request.batchNorm == .training)
        let features = withNoGrad { copy.forward(Self.images).features }
        let head = try #require(s.head.cloned() as? LocalSimilarityHead)
        let old = try #require(head.oldProxies)
        old.requiresGrad = true
        head.newProxies.requiresGrad = true
        let out = head.forward(features)
        let l = try loss(BatchContext(phase: 1, classes: Self.classes, targets: Self.targets,
                                      current: ModelOutputs(logits: out.logits, features: features, levelMaps: []),
                                      previous: nil, head: head))
        l.total.backward()
        return (try #require(old.grad).scalars, try #require(head.newProxies.grad).scalars)
    }

    @Test("one step: every proxy = w − lr·(clamp(g, ±5) + 5e-4·w); scale and backbone untouched; batch norm by mode",
          arguments: [FidelityMode.faithful, .corrected])
    func oneStep(mode: FidelityMode) throws {
        let s = try Self.setUp(mode: mode)
        #expect(s.request.batchNorm == (mode == .faithful ? .training : .evaluation))
        // Scale the loss so that the largest gradient element is 20: the clamp bites.
        let raw = try Self.referenceGradients(s, loss: s.request.loss)
        let factor = 20 / (raw.old + raw.new).map(abs).max()!
        var spec = s.request
        let loss = s.request.loss
        spec.loss = { batch in
            let l = try loss(batch)
            return LossOutput(total: l.total * factor, components: l.components)
        }
        let g = try Self.referenceGradients(s, loss: spec.loss)
        #expect((g.old + g.new).contains { abs($0) > 5 } && (g.old + g.new).contains { abs($0) < 5 },
                "some gradients beyond the clamp, some within")
        #expect(g.old.contains { $0 != 0 }, "the old proxies get a gradient")

        let oldProxies = try #require(s.head.oldProxies)
        let before = (old: oldProxies.scalars, new: s.head.newProxies.scalars, scale: s.head.scale.scalars)
        let weights = s.network.blockParameters.map(\.scalars)
        let buffers = s.network.namedBuffers().map(\.1.scalars)

        let step = HeadFinetuningStep(network: s.network, spec: spec, momentum: 0.9)
        #expect(step.parameters.count == 2 && step.parameters[0] === oldProxies && step.parameters[1] === s.head.newProxies)
        let out = try step.run { try step.step(images: Self.images, targets: Self.targets, phase: 1, classes: Self.classes) }
        #expect(out.total.item.isFinite)

        let lr = spec.learningRate, wd = spec.weightDecay
        #expect(lr == 0.05 && wd == 5e-4)
        func expected(_ w: [Float], _ g: [Float]) -> [Float] {
            zip(w, g).map { w, g in w - lr * (min(max(g, -5), 5) + wd * w) }
        }
        expectClose(oldProxies.scalars, expected(before.old, g.old), rtol: 1e-5, atol: 1e-6, "old proxies after one step")
        expectClose(s.head.newProxies.scalars, expected(before.new, g.new), rtol: 1e-5, atol: 1e-6, "new proxies after one step")
        #expect(s.head.scale.scalars == before.scale, "the NCA scale is not finetuned")
        #expect(s.network.blockParameters.map(\.scalars) == weights, "backbone weights frozen")
        let moved = s.network.namedBuffers().map(\.1.scalars) != buffers
        #expect(moved == (mode == .faithful), "running statistics move in training mode only")
        #expect(!oldProxies.requiresGrad && s.head.newProxies.requiresGrad, "old proxies frozen again afterwards")
        #expect(s.network.isTraining, "the network back in training mode")
    }

    @Test("the default request trains what it did before SDK 0.4: new rows and shared scalars, no clamp, training mode")
    func defaultRequest() throws {
        let s = try Self.setUp(mode: .faithful)
        let spec = HeadFinetuning(epochs: 1, learningRate: 0.1) { _ in LossOutput(total: Tensor.zeros([1]).sum()) }
        #expect(spec.roles == [.newClasses, .shared] && spec.gradientClamp == nil && spec.batchNorm == .training)
        #expect(spec.weightDecay == 0 && spec.batchSize == 128)
        let step = HeadFinetuningStep(network: s.network, spec: spec, momentum: 0.9)
        #expect(step.parameters.count == 2 && step.parameters[0] === s.head.newProxies && step.parameters[1] === s.head.scale)
    }
}
