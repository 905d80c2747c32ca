// PODNet (docs/ALGORITHMS.md §6.3), loaded from the built libCILPluginPODNet.so: NCA
// (faithful against 08_podnet.json and a literal float64 transcription; corrected
// against a float64 computation), POD-spatial and POD-flat against 08_podnet.json with
// the √(seen/task) factors, the LSC head against lsc_forward, the training policy, the
// class-balanced finetuning request and the k-means imprinting of new proxies.

import CILSDK
import Foundation
import Testing

/// PODNet's NCA in float64.
enum NCAReference {
    /// As coded in PODNet: t = scale·(s − margin) for every class, minus the row maximum;
    /// loss_b = −(t_y − log Σ_j exp(d_j)) with d = t except d_y = 0; mean over b.
    static func faithful(_ s: [Double], scale: Double, margin: Double, targets: [Int], classes c: Int) -> Double {
        var total = 0.0
        for (b, y) in targets.enumerated() {
            var t = Ref.row(s, b, c).map { scale * ($0 - margin) }
            let m = t.max()!
            t = t.map { $0 - m }
            var d = t
            d[y] = 0
            total += -(t[y] - Foundation.log(d.reduce(0) { $0 + Foundation.exp($1) }))
        }
        return total / Double(targets.count)
    }

    /// Corrected: the margin on the target only, the target left out of the denominator:
    /// loss_b = log Σ_{j≠y} exp(scale·s_j) − scale·(s_y − margin).
    static func corrected(_ s: [Double], scale: Double, margin: Double, targets: [Int], classes c: Int) -> Double {
        var total = 0.0
        for (b, y) in targets.enumerated() {
            let r = Array(Ref.row(s, b, c))
            let others = r.indices.filter { $0 != y }.map { scale * r[$0] }
            total += Ref.logSumExp(others) - scale * (r[y] - margin)
        }
        return total / Double(targets.count)
    }
}

final class FinetuneRequests: @unchecked Sendable {
    var requests: [HeadFinetuning] = []
}

final class FeatureRequests: @unchecked Sendable {
    var labels: [Int] = []
}

@Suite("PODNet (built plugin)")
struct PODNetTests {
    static func podnet(_ options: [String: String] = [:], dataset: String = "cifar100",
                       mode: FidelityMode = .faithful) throws -> any Baseline {
        try instantiate(try BuiltPlugins.podnet(), options: options, setting: runSetting(dataset: dataset, mode: mode))
    }

    static func lsc(_ baseline: any Baseline, dimension: Int, classes: Int, expandBy new: Int = 0) throws -> LocalSimilarityHead {
        var rng = RandomGenerator(seed: 6)
        let head = try #require(try baseline.makeHead(featureDimension: dimension, classCount: classes, rng: &rng)
            as? LocalSimilarityHead)
        if new > 0 { head.expand(by: new, rng: &rng) }
        return head
    }

    /// A phase-0 batch whose class scores are `logits`: the loss is NCA alone.
    static func phaseZero(_ logits: Tensor, targets: [Int], head: LocalSimilarityHead) -> BatchContext {
        let b = logits.shape[0]
        return BatchContext(phase: 0, classes: ClassCounts(old: 0, new: logits.shape[1]), targets: targets,
                            current: ModelOutputs(logits: logits, features: Tensor(shape: [b, head.featureDimension],
                                                                                    randomValues(b * head.featureDimension, seed: 77)),
                                                  levelMaps: [Tensor(shape: [b, 2, 2, 2], randomValues(b * 8, seed: 78))]),
                            previous: nil, head: head)
    }

    @Test("loads from libCILPluginPODNet.so; makes a LocalSimilarityHead with K proxies per class")
    func loads() throws {
        let type = try BuiltPlugins.podnet()
        #expect(type.info.name == "podnet")
        #expect(type.options.map(\.name) == ["pod-spatial-factor", "pod-flat-factor", "nca-margin", "proxies",
                                             "finetune-epochs", "finetune-lr", "finetune-weight-decay", "learn-alpha"])
        let head = try Self.lsc(try Self.podnet(), dimension: 6, classes: 4)
        #expect(head.proxiesPerClass == 10 && head.gamma == 1 && head.classCount == 4 && head.newProxies.shape == [40, 6])
        #expect(head.scale.scalars == [1])
        let three = try Self.lsc(try Self.podnet(["proxies": "3"]), dimension: 6, classes: 4)
        #expect(three.proxiesPerClass == 3 && three.newProxies.shape == [12, 6])
    }

    @Test("trainingPolicy: ±5 clamp, cosine, PODNet's stepping, backbone and pipeline by dataset; α fixed unless learn-alpha")
    func trainingPolicy() throws {
        let policy = try Self.podnet().trainingPolicy
        #expect(policy == TrainingPolicy(gradientClamp: -5...5, preferredSchedule: .cosine, learnsAlpha: false,
                                         originalAlphaGradient: .zeroPerStep, originalStepping: .lagging,
                                         preferredBackbone: .rebuffi32, preprocessing: .podnetCIFAR))
        #expect(try Self.podnet(dataset: "synthetic").trainingPolicy == policy, "synthetic data is CIFAR-style")
        let imageNet = try Self.podnet(dataset: "imagefolder").trainingPolicy
        #expect(imageNet.preferredBackbone == .resnet18 && imageNet.preprocessing == .podnetImageNet)
        #expect(imageNet.originalStepping == .lagging && imageNet.gradientClamp == -5...5 && !imageNet.learnsAlpha)
        #expect(try Self.podnet(mode: .corrected).trainingPolicy == policy, "the mode changes no policy field")
        #expect(!(try Self.podnet(["learn-alpha": "false"]).trainingPolicy.learnsAlpha))
        var learned = policy
        learned.learnsAlpha = true
        #expect(try Self.podnet(["learn-alpha": "true"]).trainingPolicy == learned)
        // The other baselines ask for nothing, but LUCIR declares its original
        // trainer's never-zeroed α gradient.
        #expect(try instantiate(try BuiltPlugins.lucir()).trainingPolicy == TrainingPolicy(originalAlphaGradient: .accumulate))
        #expect(try instantiate(try BuiltPlugins.icarl()).trainingPolicy == TrainingPolicy())
        #expect(TrainingPolicy().originalStepping == .faithful && TrainingPolicy().preferredBackbone == nil
                && TrainingPolicy().preprocessing == nil)
    }

    @Test("the retired fixed-alpha option is refused, naming the plugin and the option")
    func fixedAlphaIsRefused() throws {
        #expect(throws: PluginError.unknownOption(plugin: "podnet", option: "fixed-alpha",
                                                  valid: try BuiltPlugins.podnet().options.map(\.name))) {
            _ = try Self.podnet(["fixed-alpha": "true"])
        }
        let message = "\(PluginError.unknownOption(plugin: "podnet", option: "fixed-alpha", valid: ["learn-alpha"]))"
        #expect(message == "plugin 'podnet' has no option 'fixed-alpha'; its options are: learn-alpha")
    }

    @Test("faithful NCA = 08_podnet.json nca_scale_1.0 / nca_scale_3.5 (phase-0 loss with the head's scale)",
          arguments: ["nca_scale_1.0", "nca_scale_3.5"])
    func ncaVector(caseName: String) throws {
        let c = try RefVectors.load("08_podnet.json", caseName)
        let similarities = try c.input("similarities").tensor(requiresGrad: true)
        let targets = try c.input("targets").ints
        let podnet = try Self.podnet(["nca-margin": "\(try c.param("margin"))"])
        let head = try Self.lsc(podnet, dimension: 4, classes: similarities.shape[1])
        overwrite(head.scale, with: try c.input("scale").values)
        let out = try podnet.loss(Self.phaseZero(similarities, targets: targets, head: head))
        #expect(Set(out.components.keys) == ["nca"])
        expectClose(out.total, try c.output("loss").values, rtol: c.rtol, atol: c.atol, c.label("loss"))
        out.total.backward(Tensor(shape: out.total.shape, try c.upstream("loss").values))
        expectClose(similarities.grad, try c.grad("similarities").values, rtol: c.rtol, atol: c.atol, c.label("grad similarities"))
        expectClose(head.scale.grad, try c.grad("scale").values, rtol: c.rtol, atol: c.atol, c.label("grad scale"))
    }

    @Test("NCA against float64: faithful (margin cancels) and corrected (margin on the target, target excluded)",
          arguments: [FidelityMode.faithful, .corrected], ["0.6", "0.25"])
    func ncaModes(mode: FidelityMode, margin: String) throws {
        let podnet = try Self.podnet(["nca-margin": margin], mode: mode)
        let b = 5, c = 6
        let similarities = Tensor(shape: [b, c], randomValues(b * c, seed: 31, in: -2...0), requiresGrad: true)
        let targets = [0, 5, 2, 3, 3]
        let head = try Self.lsc(podnet, dimension: 4, classes: c)
        overwrite(head.scale, with: [2.5])
        let out = try podnet.loss(Self.phaseZero(similarities, targets: targets, head: head))
        let m = Double(Float(margin)!)
        let f: ([Double], Double) -> Double = { s, scale in
            mode == .faithful
                ? NCAReference.faithful(s, scale: scale, margin: m, targets: targets, classes: c)
                : NCAReference.corrected(s, scale: scale, margin: m, targets: targets, classes: c)
        }
        let s = similarities.scalars.map(Double.init)
        expectClose(out.total.item, f(s, 2.5), "NCA \(mode)")
        out.total.backward()
        let g = Ref.gradient(s + [2.5]) { v in f(Array(v.prefix(b * c)), v[b * c]) }
        expectClose(similarities.grad, Array(g.prefix(b * c)), "d/dsimilarities \(mode)")
        expectClose(head.scale.grad, [g[b * c]], "d/dscale \(mode)")
    }

    /// A phase-1 batch with 4 old and 2 new classes (√(seen/task) = √3).
    static func phaseOne(logits: Tensor, targets: [Int], features: Tensor, previousFeatures: Tensor,
                         maps: [Tensor], previousMaps: [Tensor], head: LocalSimilarityHead) -> BatchContext {
        BatchContext(phase: 1, classes: ClassCounts(old: 4, new: 2), targets: targets,
                     current: ModelOutputs(logits: logits, features: features, levelMaps: maps),
                     previous: ModelOutputs(logits: Tensor.zeros([targets.count, 4]), features: previousFeatures,
                                            levelMaps: previousMaps),
                     head: head)
    }

    static let factorCases: [(dataset: String, options: [String: String], spatial: Double, flat: Double)] = [
        ("cifar100", [:], 3, 1),
        ("imagefolder", [:], 8, 10),
        ("cifar100", ["pod-spatial-factor": "2", "pod-flat-factor": "0.5"], 2, 0.5),
    ]

    @Test("POD-spatial = 08_podnet.json pod_spatial × factor·√(seen/task); total = NCA + spatial + flat",
          arguments: 0..<3)
    func podSpatial(caseIndex: Int) throws {
        let setup = Self.factorCases[caseIndex]
        let c = try RefVectors.load("08_podnet.json", "pod_spatial")
        let podnet = try Self.podnet(setup.options, dataset: setup.dataset)
        let maps = [try c.input("new_0").tensor(requiresGrad: true), try c.input("new_1").tensor(requiresGrad: true)]
        let previousMaps = [try c.input("old_0").tensor(requiresGrad: true), try c.input("old_1").tensor(requiresGrad: true)]
        let b = maps[0].shape[0], d = 5
        let logits = Tensor(shape: [b, 6], randomValues(b * 6, seed: 41, in: -2...0), requiresGrad: true)
        let features = Tensor(shape: [b, d], randomValues(b * d, seed: 42), requiresGrad: true)
        let previousFeatures = Tensor(shape: [b, d], randomValues(b * d, seed: 43))
        let targets = [0, 4, 5]
        let head = try Self.lsc(podnet, dimension: d, classes: 4, expandBy: 2)
        let out = try podnet.loss(Self.phaseOne(logits: logits, targets: targets, features: features,
                                                previousFeatures: previousFeatures, maps: maps,
                                                previousMaps: previousMaps, head: head))
        let root3 = 3.0.squareRoot()
        let spatialWeight = setup.spatial * root3, flatWeight = setup.flat * root3
        #expect(Set(out.components.keys) == ["nca", "pod_spatial", "pod_flat"])
        let reference = try c.output("loss").values[0]
        expectClose([out.components["pod_spatial"] ?? .nan], [Float(Double(reference) * spatialWeight)],
                    rtol: c.rtol, atol: c.atol * Float(spatialWeight), c.label("pod_spatial × \(setup.spatial)·√3"))
        let s = logits.scalars.map(Double.init)
        let nca = NCAReference.faithful(s, scale: 1, margin: 0.6, targets: targets, classes: 6)
        expectClose(out.components["nca"], nca, "nca")
        let f = features.scalars.map(Double.init), fOld = previousFeatures.scalars.map(Double.init)
        let flat = flatWeight * Ref.cosineEmbedding(f, fOld, dimension: d)
        expectClose(out.components["pod_flat"], flat, "pod_flat")
        expectClose(out.total.item, Double(reference) * spatialWeight + nca + flat, "total")

        let g = try c.upstream("loss").values[0]
        out.total.backward(Tensor(shape: out.total.shape, [g]))
        for (i, key) in ["new_0", "new_1"].enumerated() {
            let expected = try c.grad(key).values.map { Float(Double($0) * spatialWeight) }
            expectClose(maps[i].grad, expected, rtol: c.rtol, atol: c.atol * Float(spatialWeight), c.label("grad \(key)"))
        }
        #expect(previousMaps.allSatisfy { $0.grad == nil }, "the old maps are constants")
        expectClose(logits.grad, Ref.gradient(s) {
            Double(g) * NCAReference.faithful($0, scale: 1, margin: 0.6, targets: targets, classes: 6)
        }, "d/dlogits (NCA)")
        expectClose(features.grad, Ref.gradient(f) { Double(g) * flatWeight * Ref.cosineEmbedding($0, fOld, dimension: d) },
                    "d/dfeatures (POD-flat)")
    }

    @Test("POD-flat = 08_podnet.json pod_flat × factor·√(seen/task)", arguments: 0..<3)
    func podFlat(caseIndex: Int) throws {
        let setup = Self.factorCases[caseIndex]
        let c = try RefVectors.load("08_podnet.json", "pod_flat")
        let podnet = try Self.podnet(setup.options, dataset: setup.dataset)
        let features = try c.input("features").tensor(requiresGrad: true)
        let previousFeatures = try c.input("old_features").tensor(requiresGrad: true)
        let b = features.shape[0]
        let logits = Tensor(shape: [b, 6], randomValues(b * 6, seed: 51, in: -2...0))
        let maps = [Tensor(shape: [b, 3, 2, 4], randomValues(b * 24, seed: 52))]
        let previousMaps = [Tensor(shape: [b, 3, 2, 4], randomValues(b * 24, seed: 53))]
        let head = try Self.lsc(podnet, dimension: features.shape[1], classes: 4, expandBy: 2)
        let out = try podnet.loss(Self.phaseOne(logits: logits, targets: [1, 4, 5, 0], features: features,
                                                previousFeatures: previousFeatures, maps: maps,
                                                previousMaps: previousMaps, head: head))
        let flatWeight = setup.flat * 3.0.squareRoot()
        let reference = try c.output("loss").values[0]
        expectClose([out.components["pod_flat"] ?? .nan], [Float(Double(reference) * flatWeight)],
                    rtol: c.rtol, atol: c.atol * Float(flatWeight), c.label("pod_flat × \(setup.flat)·√3"))
        out.total.backward(Tensor(shape: out.total.shape, try c.upstream("loss").values))
        let expected = try c.grad("features").values.map { Float(Double($0) * flatWeight) }
        expectClose(features.grad, expected, rtol: c.rtol, atol: c.atol * Float(flatWeight), c.label("grad features"))
        #expect(previousFeatures.grad == nil, "the old features are constants")
    }

    @Test("a head that is not the LSC: an error naming the plugin")
    func wrongHead() throws {
        let podnet = try Self.podnet()
        var rng = RandomGenerator(seed: 1)
        let head = CosineHead(featureDimension: 4, classCount: 3, rng: &rng)
        let logits = Tensor(shape: [2, 3], [0, -1, -2, -1, 0, -2])
        let batch = BatchContext(phase: 0, classes: ClassCounts(old: 0, new: 3), targets: [0, 1],
                                 current: ModelOutputs(logits: logits, features: Tensor.zeros([2, 4]), levelMaps: []),
                                 previous: nil, head: head)
        #expect {
            _ = try podnet.loss(batch)
        } throws: { error in
            guard case PluginError.failed(plugin: "podnet", reason: _)? = error as? PluginError else { return false }
            return true
        }
    }

    @Test("LSC head forward = 08_podnet.json lsc_forward (the scale is not applied to the logits)")
    func lscForward() throws {
        let c = try RefVectors.load("08_podnet.json", "lsc_forward")
        let features = try c.input("features").tensor(requiresGrad: true)
        let weights = try c.input("weights")
        let head = try Self.lsc(try Self.podnet(), dimension: features.shape[1], classes: weights.shape[0] / 10)
        overwrite(head.newProxies, with: weights.values)
        overwrite(head.scale, with: [3.25])
        let out = head.forward(features)
        expectClose(out.logits, try c.output("logits").values, rtol: c.rtol, atol: c.atol, c.label("logits"))
        expectClose(out.extras["similarities"], try c.output("raw_logits").values, rtol: c.rtol, atol: c.atol,
                    c.label("raw_logits"))
        out.logits.backward(try c.upstream("logits").tensor())
        expectClose(features.grad, try c.grad("features").values, rtol: c.rtol, atol: c.atol, c.label("grad features"))
        expectClose(head.newProxies.grad, try c.grad("weights").values, rtol: c.rtol, atol: c.atol, c.label("grad weights"))
        #expect(head.scale.grad == nil, "the scale is NCA's, not the head's output's")
    }

    @Test("phaseDidEnd: class-balanced finetuning request (epochs, lr by dataset and options) with the NCA loss",
          arguments: [("cifar100", [String: String](), 20, Float(0.05)),
                      ("imagefolder", [:], 20, Float(0.01)),
                      ("cifar100", ["finetune-epochs": "5", "finetune-lr": "0.2"], 5, Float(0.2))])
    func finetuning(dataset: String, options: [String: String], epochs: Int, learningRate: Float) throws {
        let podnet = try Self.podnet(options, dataset: dataset)
        let head = try Self.lsc(podnet, dimension: 4, classes: 4, expandBy: 2)
        overwrite(head.scale, with: [1.75])
        let box = FinetuneRequests()
        try podnet.phaseDidEnd(PhaseEndContext(phase: 0, classes: ClassCounts(old: 0, new: 4), head: head,
                                               finetuneHead: { box.requests.append($0) }))
        #expect(box.requests.isEmpty, "no finetuning after phase 0")
        try podnet.phaseDidEnd(PhaseEndContext(phase: 1, classes: ClassCounts(old: 4, new: 2), head: head,
                                               finetuneHead: { box.requests.append($0) }))
        let request = try #require(box.requests.count == 1 ? box.requests[0] : nil)
        #expect(request.epochs == epochs)
        #expect(request.learningRate == learningRate)
        #expect(request.weightDecay == 5e-4 && request.batchSize == 128)
        #expect(request.roles == [.oldClasses, .newClasses], "every proxy, not the NCA scale")
        #expect(request.gradientClamp == -5...5)
        #expect(request.batchNorm == .training, "faithful: the network stays in training mode, as PODNet's code leaves it")
        let b = 4
        let logits = Tensor(shape: [b, 6], randomValues(b * 6, seed: 61, in: -2...0), requiresGrad: true)
        let targets = [5, 0, 2, 4]
        let batch = BatchContext(phase: 1, classes: ClassCounts(old: 4, new: 2), targets: targets,
                                 current: ModelOutputs(logits: logits, features: Tensor.zeros([b, 4]), levelMaps: []),
                                 previous: nil, head: head)
        let out = try request.loss(batch)
        let s = logits.scalars.map(Double.init)
        expectClose(out.total.item, NCAReference.faithful(s, scale: 1.75, margin: 0.6, targets: targets, classes: 6),
                    "finetuning loss = NCA with the head's scale")
        let none = try Self.podnet(["finetune-epochs": "0"], dataset: dataset)
        let box0 = FinetuneRequests()
        try none.phaseDidEnd(PhaseEndContext(phase: 1, classes: ClassCounts(old: 4, new: 2), head: head,
                                             finetuneHead: { box0.requests.append($0) }))
        #expect(box0.requests.isEmpty, "finetune-epochs 0: no finetuning")
        let corrected = try Self.podnet(options, dataset: dataset, mode: .corrected)
        let box1 = FinetuneRequests()
        try corrected.phaseDidEnd(PhaseEndContext(phase: 1, classes: ClassCounts(old: 4, new: 2), head: head,
                                                  finetuneHead: { box1.requests.append($0) }))
        #expect(box1.requests.map(\.batchNorm) == [.evaluation], "corrected: batch norm in evaluation mode")
        #expect(box1.requests.map(\.roles) == [[.oldClasses, .newClasses]] && box1.requests.map(\.gradientClamp) == [-5...5])
        let decay = try Self.podnet(["finetune-weight-decay": "0.001"], dataset: dataset)
        let box2 = FinetuneRequests()
        try decay.phaseDidEnd(PhaseEndContext(phase: 1, classes: ClassCounts(old: 4, new: 2), head: head,
                                              finetuneHead: { box2.requests.append($0) }))
        #expect(box2.requests.map(\.weightDecay) == [0.001])
    }

    /// Three clear clusters (directions) per new class, each with its own number of points
    /// and magnitudes spread over [0.5, 4] (normalisation must remove them).
    static func clusteredFeatures(directions: [[Float]], counts: [Int], seed: UInt64) -> (features: Tensor, labels: [Int]) {
        var rng = RandomGenerator(seed: seed)
        var values: [Float] = [], labels: [Int] = []
        for (k, u) in directions.enumerated() {
            for _ in 0..<counts[k] {
                let magnitude = 0.5 + 3.5 * rng.nextUnitFloat()
                values += u.map { magnitude * ($0 + 0.05 * (2 * rng.nextUnitFloat() - 1)) }
                labels.append(k)
            }
        }
        return (Tensor(shape: [labels.count, directions[0].count], values), labels)
    }

    @Test("imprinting: new proxies = k-means centres of the normalised class features × mean old-proxy norm")
    func imprinting() throws {
        let podnet = try Self.podnet(["proxies": "3"])
        let d = 4, k = 3
        var rng = RandomGenerator(seed: 8)
        let head = try #require(try podnet.makeHead(featureDimension: d, classCount: 2, rng: &rng) as? LocalSimilarityHead)
        // Old proxies with norms 1, 1.5, ..., 3.5.
        var oldValues = randomValues(2 * k * d, seed: 81)
        for r in 0..<(2 * k) {
            let n = Ref.norm(oldValues[(r * d)..<((r + 1) * d)].map(Double.init))
            for j in 0..<d { oldValues[r * d + j] = Float(Double(oldValues[r * d + j]) / n * (1 + 0.5 * Double(r))) }
        }
        overwrite(head.newProxies, with: oldValues)
        head.expand(by: 2, rng: &rng)
        let oldProxies = try #require(head.oldProxies)
        #expect(oldProxies.scalars == oldValues)
        let avgNorm = (0..<(2 * k)).map { r in Ref.norm(oldValues[(r * d)..<((r + 1) * d)].map(Double.init)) }
            .reduce(0, +) / Double(2 * k)

        let classes = [
            Self.clusteredFeatures(directions: [[1, 0.2, 0, 0], [0, 1, 0.3, 0], [0, 0, 1, -0.2]], counts: [3, 4, 5], seed: 82),
            Self.clusteredFeatures(directions: [[-1, 0, 0, 0.3], [0.2, -1, 0, 0], [0, 0, -0.3, -1]], counts: [5, 2, 4], seed: 83),
        ]
        let asked = FeatureRequests()
        let context = { (phase: Int) in
            PhaseStartContext(phase: phase, classes: ClassCounts(old: 2, new: 2), head: head,
                              trainingFeatures: { label in
                                  asked.labels.append(label)
                                  return classes[label - 2].features
                              }, seed: 42)
        }
        let before = head.newProxies.scalars
        try podnet.phaseWillStart(context(0))
        #expect(asked.labels.isEmpty && head.newProxies.scalars == before, "phase 0: no imprinting")
        try podnet.phaseWillStart(context(1))
        #expect(asked.labels == [2, 3])
        #expect(oldProxies.scalars == oldValues, "old proxies untouched")

        let proxies = head.newProxies.scalars.map(Double.init)
        for (c, data) in classes.enumerated() {
            let n = data.labels.count
            let x = data.features.scalars.map(Double.init)
            let normalized = (0..<n).map { Ref.normalized(Ref.row(x, $0, d)) }
            let centres = (0..<k).map { j in Ref.row(proxies, c * k + j, d).map { $0 / avgNorm } }
            // Each normalised feature's nearest centre.
            let assignment = normalized.map { f in
                (0..<k).min { a, b in
                    zip(f, centres[a]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
                        < zip(f, centres[b]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
                }!
            }
            // The clusters partition the class: one centre per true cluster, all different.
            var centreOfCluster: [Int: Int] = [:]
            for (i, label) in data.labels.enumerated() {
                if let j = centreOfCluster[label] {
                    #expect(j == assignment[i], "class \(c): cluster \(label) is split between centres")
                } else {
                    centreOfCluster[label] = assignment[i]
                }
            }
            #expect(Set(centreOfCluster.values).count == k, "class \(c): every centre holds exactly one cluster")
            // Each centre is the mean of the normalised features assigned to it.
            for j in 0..<k {
                let members = normalized.indices.filter { assignment[$0] == j }
                guard !members.isEmpty else { continue }
                let mean = (0..<d).map { t in members.reduce(0) { $0 + normalized[$1][t] } / Double(members.count) }
                expectClose(Tensor(shape: [d], centres[j].map { Float($0) }), mean, rtol: 1e-5, atol: 1e-6,
                            "class \(c) proxy \(j) / avg norm = mean of its normalised features")
            }
        }
    }
}
