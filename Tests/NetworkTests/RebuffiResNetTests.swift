import CILSDK
import Foundation
import Testing

/// PODNet's CIFAR network (`RebuffiResNet`, docs/ALGORITHMS.md §2.5) against the
/// PyTorch reference Tests/Vectors/pytorch/12_rebuffi32.safetensors (made by
/// Tests/Vectors/generate_rebuffi32_reference.py; its README says what it holds):
/// parameter counts and state-dict names, the initialisation, and one training-mode
/// forward and backward pass (the feature, the four level maps, every parameter's
/// gradient, the input's gradient and the BN running statistics after the pass)
/// at width 4 element by element and at the real width 16 through summaries and
/// samples. Tolerances are the file's (|a − e| ≤ atol + rtol·|e| per group).
/// TESTVECTOR_REPORT=1 prints the worst error of every group.
@Suite("RebuffiResNet")
struct RebuffiResNetTests {
    static let vectorPath = "Tests/Vectors/pytorch/12_rebuffi32.safetensors"

    static func vectors() throws -> SafeTensorsFile {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/", !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir.deleteLastPathComponent()
        }
        return try SafeTensorsFile(contentsOfFile: dir.appendingPathComponent(vectorPath).path)
    }

    static func json<T>(_ file: SafeTensorsFile, _ key: String, as: T.Type) throws -> T {
        let text = try #require(file.metadata[key], "\(vectorPath): no metadata key \(key)")
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? T, "\(vectorPath): \(key)")
    }

    /// Every parameter and buffer by name, with its shape (the PyTorch state dict
    /// without the batch counters).
    static func stateShapes(_ net: RebuffiResNet) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: (net.namedParameters() + net.namedBuffers()).map { ($0.0, $0.1.shape) })
    }

    @Test("rebuffi32 has PyTorch's parameter count (463,504) and state-dict names and shapes, at widths 16 and 4")
    func parameterCountAndNames() throws {
        let file = try Self.vectors()
        var rng = RandomGenerator(seed: 1)
        let net = RebuffiResNet.cifar(blocksPerStage: 5, width: 16, rng: &rng)
        #expect(net.trainableParameterCount == 463_504)
        #expect(file.metadata["parameter_count_rebuffi32"] == "\(net.trainableParameterCount)")
        let w4 = RebuffiResNet.cifar(blocksPerStage: 5, width: 4, rng: &rng)
        #expect(file.metadata["parameter_count_w4"] == "\(w4.trainableParameterCount)")
        for (key, network) in [("state_dict_rebuffi32", net), ("state_dict_w4", w4)] {
            let reference = try Self.json(file, key, as: [String: [Int]].self).filter { !$0.key.hasSuffix("num_batches_tracked") }
            #expect(Self.stateShapes(network) == reference, "\(key)")
        }
        #expect(net.namedParameters().first?.0 == "conv_1_3x3.weight")
        #expect(net.levels.map(\.blocks.count) == [5, 5, 4, 1])
    }

    @Test("initialisation: every block's bn_b γ is 0, other γ 1, β 0; a fresh block is its shortcut")
    func initialisation() throws {
        let file = try Self.vectors()
        var rng = RandomGenerator(seed: 2)
        let net = RebuffiResNet.cifar(rng: &rng)
        let zeroed = net.namedParameters().filter { $0.0.hasSuffix(".weight") && $0.1.rank == 1 && $0.1.scalars.allSatisfy { $0 == 0 } }
        #expect(Set(zeroed.map(\.0)) == Set(try Self.json(file, "zero_initialised_gammas", as: [String].self)))
        #expect(zeroed.count == 15)
        for bn in net.levels.flatMap(\.batchNorms) where !zeroed.contains(where: { $0.1 === bn.gamma }) {
            #expect(bn.gamma.scalars.allSatisfy { $0 == 1 } && bn.beta.scalars.allSatisfy { $0 == 0 })
        }
        // With bn_b γ = 0 and β = 0 each residual branch is zero: level 1 gives the
        // stem's output, and each later level the zero-padded subsampling of the one before.
        let x = Initializers.normal([2, 3, 32, 32], std: 1, rng: &rng)
        let maps = withNoGrad { () -> [Tensor] in
            var h = x
            return net.levels.map { h = $0(h); return h }
        }
        #expect(maps.map(\.shape) == [[2, 16, 32, 32], [2, 32, 16, 16], [2, 64, 8, 8], [2, 64, 8, 8]])
        let stem = try #require(net.levels[0].stem)
        let expected1 = withNoGrad { stem.bn(stem.conv(x), relu: true) }
        #expect(maps[0].scalars == expected1.scalars)
        #expect(maps[1].scalars == withNoGrad { maps[0].subsampledZeroPadded(stride: 2, channels: 32) }.scalars)
        #expect(maps[2].scalars == withNoGrad { maps[1].subsampledZeroPadded(stride: 2, channels: 64) }.scalars)
        #expect(maps[3].scalars == maps[2].scalars)
    }

    @Test("width 4: the feature, the 4 maps, every gradient and the running statistics match PyTorch element by element")
    func widthFourMatchesPyTorch() throws {
        let file = try Self.vectors()
        var rng = RandomGenerator(seed: 3)
        let net = RebuffiResNet.cifar(blocksPerStage: 5, width: 4, rng: &rng)
        let state = net.namedParameters() + net.namedBuffers()
        #expect(Set(state.map { "w4.param.\($0.0)" }) == Set(file.names.filter { $0.hasPrefix("w4.param.") }))
        for (name, tensor) in state { try Self.load(tensor, try file.floats("w4.param.\(name)"), name) }
        let input = Tensor(shape: [2, 3, 32, 32], try file.floats("w4.input"), requiresGrad: true)
        let upstream = try Self.outputNames.map { try file.floats("w4.upstream.\($0)") }
        let outputs = Self.trainingPass(net, input, upstream: upstream)

        var check = try VectorComparison(file)
        for (name, output) in zip(Self.outputNames, outputs) {
            check.elements(name, output.scalars, try file.floats("w4.out.\(name)"))
        }
        for (name, p) in net.namedParameters() {
            check.elements(name, try #require(p.grad, "\(name) got no gradient").scalars, try file.floats("w4.grad.\(name)"))
        }
        check.elements("input", try #require(input.grad).scalars, try file.floats("w4.grad.input"))
        for (name, b) in net.namedBuffers() { check.elements(name, b.scalars, try file.floats("w4.after.\(name)")) }
        check.finish("w4")
    }

    @Test("rebuffi32 (width 16): the feature and running statistics, and summaries and samples of the maps and every gradient, match PyTorch")
    func rebuffi32MatchesPyTorch() throws {
        let file = try Self.vectors()
        let recipe = try Self.json(file, "w16_recipe", as: [String: [Double]].self)
        func made(_ name: String, _ count: Int) throws -> [Float] {
            let r = try #require(recipe[name], "no recipe for \(name)")
            return Self.recipeValues(name, count).map { Float(r[0]) + Float(r[1]) * $0 }
        }
        var rng = RandomGenerator(seed: 4)
        let net = RebuffiResNet.cifar(blocksPerStage: 5, width: 16, rng: &rng)
        for (name, tensor) in net.namedParameters() + net.namedBuffers() {
            try Self.load(tensor, try made(name, tensor.count), name)
        }
        let input = Tensor(shape: [2, 3, 32, 32], try file.floats("w16.input"), requiresGrad: true)
        let shapes = [[2, 64], [2, 16, 32, 32], [2, 32, 16, 16], [2, 64, 8, 8], [2, 64, 8, 8]]
        let upstream = try zip(Self.outputNames, shapes).map { try made("upstream.\($0)", $1.reduce(1, *)) }
        let outputs = Self.trainingPass(net, input, upstream: upstream)
        #expect(outputs.map(\.shape) == shapes)

        var check = try VectorComparison(file)
        check.elements("feature", outputs[0].scalars, try file.floats("w16.out.feature"))
        for (name, b) in net.namedBuffers() { check.elements(name, b.scalars, try file.floats("w16.after.\(name)")) }
        var summarised: [(String, String, [Float])] = zip(Self.outputNames.dropFirst(), outputs.dropFirst()).map { ($0, $0, $1.scalars) }
        for (name, p) in net.namedParameters() {
            summarised.append((name, "grad.\(name)", try #require(p.grad, "\(name) got no gradient").scalars))
        }
        summarised.append(("input", "grad.input", try #require(input.grad).scalars))
        #expect(Set(summarised.map { "w16.summary.\($0.1)" }) == Set(file.names.filter { $0.hasPrefix("w16.summary.") }))
        for (group, key, actual) in summarised {
            let summary = try file.doubles("w16.summary.\(key)")
            check.summary(group, key, actual, summary, probe: Self.recipeValues("probe.\(key)", actual.count).map(Double.init))
            let n = actual.count
            let indices = n <= 256 ? Array(0..<n) : (0..<256).map { ($0 * 104_729) % n }
            check.elements(group, indices.map { actual[$0] }, try file.floats("w16.sample.\(key)"), label: key)
        }
        check.finish("w16")
    }

    @Test("in an AggregatedNetwork: 4 level maps (POD-spatial's), 4 α in dual mode, unique state-dict names")
    func aggregatedNetworkExposesFourLevelMaps() throws {
        var rng = RandomGenerator(seed: 5)
        let backbone = RebuffiResNet.cifar(rng: &rng)
        let net = AggregatedNetwork(backbone: backbone, head: CosineHead(featureDimension: 64, classCount: 4, rng: &rng),
                                    branchMode: .dual)
        let x = Initializers.normal([2, 3, 32, 32], std: 1, rng: &rng)
        net.setTraining(false)
        let plain = withNoGrad { net.forward(x) }
        let levels = withNoGrad { () -> [Tensor] in
            var h = x
            return backbone.levels.map { h = $0(h); return h }
        }
        #expect(plain.levelMaps.count == 4)
        for (a, b) in zip(plain.levelMaps, levels) { #expect(a.scalars == b.scalars) }
        #expect(plain.features.scalars == levels[3].globalAvgPool().scalars)

        try net.deriveBranches(stable: TestScaleShiftBranch(), plastic: TestFreeBranch(), rng: &rng)
        net.setTraining(true)
        let out = net.forward(x)
        #expect(net.alphas.count == 4 && out.levelMaps.map(\.shape) == levels.map(\.shape))
        Tensor.crossEntropy(logits: out.logits, targets: [0, 3]).backward()
        #expect(net.alphas.allSatisfy { $0.grad != nil })
        let names = try StateDict.entries(of: net).map(\.name)
        #expect(names.contains("b1_model.stage_4.conv_a.mtl_weight"))
        #expect(names.contains("b2_model.conv_1_3x3.weight") && names.contains("fusion_vars.3"))
    }

    // MARK: - Support

    /// The compared outputs, in order: the pooled feature, then the level maps.
    static let outputNames = ["feature", "map1", "map2", "map3", "map4"]

    /// Training mode; backward of Σ_o ⟨upstream_o, output_o⟩. Returns the outputs.
    static func trainingPass(_ net: RebuffiResNet, _ input: Tensor, upstream: [[Float]]) -> [Tensor] {
        net.setTraining(true)
        var h = input
        let maps = net.levels.map { h = $0(h); return h }
        let outputs = [maps[3].globalAvgPool()] + maps
        let loss = zip(outputs, upstream).map { ($0 * Tensor(shape: $0.shape, $1)).sum() }.reduce(Tensor(scalar: 0), +)
        loss.backward()
        return outputs
    }

    static func load(_ tensor: Tensor, _ values: [Float], _ name: String) throws {
        try #require(values.count == tensor.count, "\(name): \(values.count) values for \(tensor.shape)")
        tensor.assign(Tensor(shape: tensor.shape, values))
    }

    /// The file's recipe values v_i of the tensor named `name` (exact in float32).
    static func recipeValues(_ name: String, _ count: Int) -> [Float] {
        var base: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { base = (base ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return (0..<count).map { i in
            var z = base &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(Int64(z >> 44) - (1 << 19)) / Float(1 << 19)
        }
    }
}

/// Compares tensors with the vector file's per-group tolerances, keeping the worst
/// absolute error and the worst ratio |a − e| / (atol + rtol·|e|) of each group.
struct VectorComparison {
    struct Tolerance { var rtol: Double; var atol: Double }
    let tolerances: [String: Tolerance]
    var worst: [String: (abs: Double, ratio: Double)] = [:]

    init(_ file: SafeTensorsFile) throws {
        let table = try RebuffiResNetTests.json(file, "tolerance", as: [String: [String: Double]].self)
        tolerances = table.mapValues { Tolerance(rtol: $0["rtol"] ?? 0, atol: $0["atol"] ?? 0) }
    }

    /// The group of a compared name, as the generator forms it.
    static func group(_ name: String) -> String {
        if name == "feature" { return "feature" }
        if name.hasPrefix("map") { return "maps" }
        if name == "input" { return "grad_input" }
        if name.hasSuffix("running_mean") || name.hasSuffix("running_var") { return "running_stats" }
        return name.contains("conv") ? "grad_conv" : "grad_bn"
    }

    mutating func tolerance(_ group: String) -> Tolerance {
        guard let t = tolerances[group] else {
            Issue.record("no tolerance for group \(group)")
            return Tolerance(rtol: 0, atol: 0)
        }
        return t
    }

    mutating func record(_ group: String, abs: Double, ratio: Double) {
        let w = worst[group] ?? (0, 0)
        worst[group] = (Swift.max(w.abs, abs), Swift.max(w.ratio, ratio))
    }

    /// Element by element.
    mutating func elements(_ name: String, _ actual: [Float], _ expected: [Float], label: String? = nil) {
        let label = label ?? name, group = Self.group(name), t = tolerance(group)
        guard actual.count == expected.count else {
            Issue.record("\(label): \(actual.count) values, the reference has \(expected.count)")
            return
        }
        var worstAbs = 0.0, worstRatio = 0.0, at = 0
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let d = Swift.abs(Double(a) - Double(e))
            let ratio = d.isNaN ? .infinity : d / (t.atol + t.rtol * Swift.abs(Double(e)))
            if ratio > worstRatio { worstRatio = ratio; at = i }
            worstAbs = d.isNaN ? .infinity : Swift.max(worstAbs, d)
        }
        record(group, abs: worstAbs, ratio: worstRatio)
        #expect(worstRatio <= 1, "\(label): element \(at) is \(actual[at]), PyTorch \(expected[at]) (rtol \(t.rtol), atol \(t.atol))")
    }

    /// Through a summary [Σ e·p, Σ |e·p|, Σ e², n] of the reference e and a probe p:
    /// the bounds that elementwise agreement within the tolerance implies,
    /// |Σ a·p − Σ e·p| ≤ atol·Σ|p| + rtol·Σ|e·p| and |‖a‖ − ‖e‖| ≤ atol·√n + rtol·‖e‖.
    mutating func summary(_ name: String, _ label: String, _ actual: [Float], _ summary: [Double], probe: [Double]) {
        let group = Self.group(name), t = tolerance(group)
        guard summary.count == 4, Int(summary[3]) == actual.count else {
            Issue.record("\(label): \(actual.count) values, the reference summarises \(summary.last ?? 0)")
            return
        }
        let dot = zip(actual, probe).reduce(0.0) { $0 + Double($1.0) * $1.1 }
        let norm = actual.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot(), normE = summary[2].squareRoot()
        let dotBound = t.atol * probe.reduce(0) { $0 + Swift.abs($1) } + t.rtol * summary[1]
        let normBound = t.atol * Double(actual.count).squareRoot() + t.rtol * normE
        let ratio = Swift.max(Swift.abs(dot - summary[0]) / dotBound, Swift.abs(norm - normE) / normBound)
        record(group, abs: 0, ratio: ratio)
        #expect(ratio <= 1, "\(label): Σ a·p = \(dot) vs \(summary[0]) (bound \(dotBound)), ‖a‖ = \(norm) vs \(normE) (bound \(normBound))")
    }

    func finish(_ label: String) {
        guard ProcessInfo.processInfo.environment["TESTVECTOR_REPORT"] == "1" else { return }
        for (group, w) in worst.sorted(by: { $0.key < $1.key }) {
            print("\(label) \(group): max |a − e| \(w.abs), worst error / tolerance \(w.ratio)")
        }
    }
}
