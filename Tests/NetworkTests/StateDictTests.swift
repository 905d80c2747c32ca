import CILSDK
import Foundation
import Testing

/// Networks as PyTorch state dicts: the names and shapes are the original code's
/// (Tests/Vectors/original_state_dict_names.json, made from the original's own
/// models by generate_original_state_dict_names.py), a network written and loaded
/// into a fresh one of the same structure computes the same outputs, and a file
/// that does not fit is refused with every problem named.
@Suite("State dicts")
struct StateDictTests {
    /// The original's state-dict names and shapes, by network.
    static func original(_ key: String) throws -> [String: [Int]] {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/", !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        let data = try Data(contentsOf: dir.appendingPathComponent("Tests/Vectors/original_state_dict_names.json"))
        let all = try JSONSerialization.jsonObject(with: data) as! [String: [String: [Int]]]
        return all[key]!
    }

    static func shapes(_ network: AggregatedNetwork) throws -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: try StateDict.entries(of: network).map { ($0.name, $0.shape) })
    }

    /// A network with the structure of `phase` (2 new classes per later phase):
    /// `backbone` with a cosine head of `classes` phase-0 classes.
    static func network(_ backbone: (inout RandomGenerator) -> ResNet, classes: Int, phase: Int, mode: BranchMode,
                        stable: any BranchType = TestScaleShiftBranch(), plastic: (any BranchType)? = TestFreeBranch(),
                        newClasses: Int = 2, seed: UInt64 = 1) throws -> AggregatedNetwork {
        var rng = RandomGenerator(seed: seed)
        let resnet = backbone(&rng)
        let net = AggregatedNetwork(backbone: resnet, head: CosineHead(featureDimension: resnet.featureDimension, classCount: classes, rng: &rng),
                                    branchMode: mode)
        for p in stride(from: 1, through: phase, by: 1) {
            net.head.expand(by: newClasses, rng: &rng)
            if p == 1 { try net.deriveBranches(stable: stable, plastic: mode == .dual ? plastic : nil, rng: &rng) }
        }
        return net
    }

    static func resnet32(_ rng: inout RandomGenerator) -> ResNet { ResNet.cifar(blocksPerStage: 5, rng: &rng) }

    // MARK: - The original's names

    @Test func plainPhaseZeroHasTheOriginalResNet32Names() throws {
        let net = try Self.network(Self.resnet32, classes: 50, phase: 0, mode: .dual)
        #expect(try Self.shapes(net) == Self.original("resnet32_phase0"))
    }

    @Test func singleBranchLaterPhasesHaveTheOriginalNamesWithTheSplitHead() throws {
        let free = try Self.network(Self.resnet32, classes: 50, phase: 1, mode: .single, stable: TestFreeBranch(), newClasses: 10)
        #expect(try Self.shapes(free) == Self.original("resnet32_phase1"))
        // An `ss` branch 1 is the original's mtl network: each conv's scale is CONV.mtl_weight.
        let ss = try Self.network(Self.resnet32, classes: 50, phase: 1, mode: .single, stable: TestScaleShiftBranch(), newClasses: 10)
        #expect(try Self.shapes(ss) == Self.original("resnetmtl32_phase1"))
    }

    @Test func dualNetworkIsB1ModelB2ModelAndFusionVars() throws {
        let net = try Self.network(Self.resnet32, classes: 50, phase: 2, mode: .dual, newClasses: 10)
        var expected: [String: [Int]] = [:]
        for (name, shape) in try Self.original("resnetmtl32_phase1") {
            expected["b1_model." + name] = name == "fc.fc1.weight" ? [60, 64] : shape
        }
        // b2_model: the plain network with its own phase-0 CosineLinear (never used).
        for (name, shape) in try Self.original("resnet32_phase0") { expected["b2_model." + name] = shape }
        for (name, shape) in try Self.original("fusion_vars") { expected["fusion_vars." + name] = shape }
        #expect(try Self.shapes(net) == expected)
        let entries = try StateDict.entries(of: net)
        #expect(entries.filter { $0.kind == .unusedCopy }.map(\.name) == ["b2_model.fc.weight", "b2_model.fc.sigma"])
        #expect(entries.filter { $0.kind == .batchCounter }.allSatisfy { $0.name.hasSuffix(".num_batches_tracked") })
    }

    @Test func otherBackbonesHaveTheOriginalNames() throws {
        let r20 = try Self.network({ ResNet.cifar(blocksPerStage: 3, rng: &$0) }, classes: 10, phase: 0, mode: .single)
        #expect(try Self.shapes(r20) == Self.original("resnet20_phase0"))
        let r18 = try Self.network({ ResNet.imageNet(depth: 18, rng: &$0) }, classes: 100, phase: 0, mode: .single)
        #expect(try Self.shapes(r18) == Self.original("resnet18_phase0"))
    }

    @Test func otherHeadsListTheirOwnNamesUnderFc() throws {
        var rng = RandomGenerator(seed: 2)
        let linear = AggregatedNetwork(backbone: ResNet.cifar(blocksPerStage: 1, rng: &rng),
                                       head: LinearHead(featureDimension: 64, classCount: 5, rng: &rng), branchMode: .single)
        let linearNames = try Self.shapes(linear).filter { $0.key.hasPrefix("fc") }
        #expect(linearNames == ["fc.weight": [5, 64], "fc.bias": [5]])
        let lsc = AggregatedNetwork(backbone: ResNet.cifar(blocksPerStage: 1, rng: &rng),
                                    head: LocalSimilarityHead(featureDimension: 64, classCount: 3, proxiesPerClass: 4, rng: &rng),
                                    branchMode: .dual)
        lsc.head.expand(by: 2, rng: &rng)
        try lsc.deriveBranches(stable: TestScaleShiftBranch(), plastic: TestFreeBranch(), rng: &rng)
        let lscNames = try Self.shapes(lsc).filter { $0.key.contains(".fc.") }
        #expect(lscNames == ["b1_model.fc.old_weights": [12, 64], "b1_model.fc.new_weights": [8, 64], "b1_model.fc.scale": [1]],
                "no b2_model.fc: the original's unused branch-2 classifier is a cosine one")
    }

    // MARK: - Round trips

    /// A trained small network grown to phase 2 with every value set apart from a
    /// fresh network's (mtl scales, α, σ, BN statistics).
    static func distinctive(mode: BranchMode, seed: UInt64) throws -> AggregatedNetwork {
        let net = trainedSmallNetwork(seed: seed, mode: mode)
        var rng = RandomGenerator(seed: seed + 100)
        for p in 1...2 {
            net.head.expand(by: 2, rng: &rng)
            if p == 1 { try net.deriveBranches(stable: TestScaleShiftBranch(), plastic: mode == .dual ? TestFreeBranch() : nil, rng: &rng) }
        }
        for (name, t) in net.namedParameters() + net.namedBuffers() {
            let noise = Initializers.normal(t.shape, std: 0.1, rng: &rng).scalars
            t.withUnsafeMutableBufferPointer { v in
                for i in v.indices { v[i] = name.hasSuffix("running_var") ? abs(v[i]) + 0.5 + abs(noise[i]) : v[i] + noise[i] }
            }
        }
        if mode == .dual { for (k, a) in net.alphas.enumerated() { a.fill([0.3, 0.65, 0.8][k]) } }
        return net
    }

    static func bytes(_ net: AggregatedNetwork) throws -> [UInt8] {
        try StateDict.writer(for: net, metadata: ["phase": "2"]).encoded()
    }

    @Test(arguments: [BranchMode.single, .dual], [false, true])
    func exportThenLoadGivesIdenticalOutputs(mode: BranchMode, training: Bool) throws {
        let source = try Self.distinctive(mode: mode, seed: 21)
        let target = try Self.distinctive(mode: mode, seed: 22)
        let file = try SafeTensorsFile(bytes: try Self.bytes(source), path: "net.safetensors")
        #expect(file.metadata["layout"] == (mode == .dual ? "dual" : "plain") && file.metadata["head"] == "CosineHead")
        #expect(file.metadata["phase"] == "2")
        try StateDict.load(file, into: target)
        var rng = RandomGenerator(seed: 9)
        let x = Initializers.normal([3, 3, 32, 32], std: 1, rng: &rng)
        source.setTraining(training); target.setTraining(training)
        let a = withNoGrad { source.forward(x) }, b = withNoGrad { target.forward(x) }
        #expect(a.logits.scalars == b.logits.scalars)
        #expect(a.features.scalars == b.features.scalars)
        for (ma, mb) in zip(a.levelMaps, b.levelMaps) { #expect(ma.scalars == mb.scalars) }
        // Every value tensor was carried over (training mode moved the BN statistics alike).
        let sourceTensors = try StateDict.entries(of: source), targetTensors = try StateDict.entries(of: target)
        for (s, t) in zip(sourceTensors, targetTensors) where s.kind == .value {
            #expect(s.name == t.name && s.tensor!.scalars == t.tensor!.scalars, "\(s.name)")
        }
    }

    @Test func batchCountersAreWrittenAsInt64ZeroAndUnusedCopiesAreTheRightRows() throws {
        let net = try Self.distinctive(mode: .dual, seed: 23)
        let file = try SafeTensorsFile(bytes: try Self.bytes(net), path: "net.safetensors")
        let counter = try #require(file.info("b1_model.bn1.num_batches_tracked"))
        #expect(try counter.dtype == .i64 && counter.shape == [] && file.int64s(counter.name) == [0])
        let head = net.head as! CosineHead
        #expect(try file.floats("b2_model.fc.weight") == Array(head.oldWeight!.scalars.prefix(6 * 64)), "the 6 phase-0 rows")
        #expect(try file.floats("b2_model.fc.sigma") == head.sigma.scalars)
        #expect(try file.floats("fusion_vars.1") == [0.65] && file.info("fusion_vars.1")?.shape == [1])
    }

    /// Files of the original keep counting batches; any count loads, and counters may be absent.
    @Test func batchCountersAreAcceptedOrAbsent() throws {
        let source = try Self.distinctive(mode: .single, seed: 24)
        let file = try SafeTensorsFile(bytes: try Self.bytes(source), path: "a")
        var writer = SafeTensorsWriter()
        for info in file.tensors {
            if info.name.hasSuffix("num_batches_tracked") {
                if info.name.hasPrefix("layer1") { try writer.add(info.name, int64s: [1234], shape: []) }
            } else {
                try writer.add(info.name, doubles: file.doubles(info.name), shape: info.shape)
            }
        }
        let target = try Self.distinctive(mode: .single, seed: 25)
        try StateDict.load(try SafeTensorsFile(bytes: writer.encoded(), path: "b"), into: target)
        #expect(try StateDict.entries(of: target).filter { $0.kind == .value }.map { $0.tensor!.scalars }
                == StateDict.entries(of: source).filter { $0.kind == .value }.map { $0.tensor!.scalars }, "F64 data is read too")
    }

    // MARK: - Refusals

    /// A copy of `file` with `change` applied to the list of (name, dtype, shape, bytes).
    static func edited(_ file: SafeTensorsFile, _ change: (inout [(String, SafeTensorsDType, [Int], [UInt8])]) -> Void) throws -> SafeTensorsFile {
        var list = try file.tensors.map { ($0.name, $0.dtype, $0.shape, try file.rawBytes($0.name)) }
        change(&list)
        var writer = SafeTensorsWriter(metadata: file.metadata)
        for (name, dtype, shape, data) in list { try writer.add(name, dtype: dtype, shape: shape, rawBytes: data) }
        return try SafeTensorsFile(bytes: writer.encoded(), path: "edited.safetensors")
    }

    @Test func missingUnknownAndMisShapedTensorsAreAllNamed() throws {
        let source = try Self.distinctive(mode: .dual, seed: 26)
        let file = try SafeTensorsFile(bytes: try Self.bytes(source), path: "net.safetensors")
        let bad = try Self.edited(file) { list in
            list.removeAll { $0.0 == "b1_model.layer1.0.conv1.weight" || $0.0 == "fusion_vars.2" }
            list.append(("b1_model.layer9.0.conv1.weight", .f32, [1], [0, 0, 0, 0]))
            let i = list.firstIndex { $0.0 == "b1_model.fc.sigma" }!
            list[i] = ("b1_model.fc.sigma", .f32, [2], [UInt8](repeating: 0, count: 8))
            let j = list.firstIndex { $0.0 == "b2_model.bn1.num_batches_tracked" }!
            list[j] = (list[j].0, .f32, [], [0, 0, 0, 0])
            let k = list.firstIndex { $0.0 == "b2_model.fc.weight" }!
            list[k] = (list[k].0, .f32, [1, 64], [UInt8](repeating: 0, count: 256))
            let m = list.firstIndex { $0.0 == "b2_model.conv1.weight" }!
            list[m] = (list[m].0, .i32, list[m].2, list[m].3)
        }
        let target = try Self.distinctive(mode: .dual, seed: 27)
        let before = try StateDict.entries(of: target).compactMap { $0.tensor?.scalars }
        #expect(try StateDict.problems(loading: bad, into: target).count == 7)
        #expect(try StateDict.problems(loading: file, into: target).isEmpty)
        do {
            try StateDict.load(bad, into: target)
            Issue.record("loaded a file that does not fit")
        } catch let error as StateDictError {
            #expect(error.file == "edited.safetensors")
            #expect(error.problems.sorted() == [
                "missing tensor b1_model.layer1.0.conv1.weight (expected shape [16, 16, 3, 3], F32)",
                "missing tensor fusion_vars.2 (expected shape [1], F32)",
                "tensor b1_model.fc.sigma has shape [2], the network needs [1]",
                "tensor b2_model.bn1.num_batches_tracked has dtype F32 and shape [], expected an integer scalar (I64, shape [])",
                "tensor b2_model.conv1.weight has dtype I32, expected F32 (or F64, F16, BF16)",
                "tensor b2_model.fc.weight has shape [1, 64], the network needs [6, 64]",
                "unexpected tensor b1_model.layer9.0.conv1.weight (shape [1], F32): the network has no tensor of that name",
            ].sorted())
            #expect("\(error)".hasPrefix("edited.safetensors does not fit the network (7 problems):\n  "))
        }
        #expect(try StateDict.entries(of: target).compactMap { $0.tensor?.scalars } == before, "nothing is written on error")
    }

    @Test func plainFileIntoDualNetworkAndBackSaySo() throws {
        let plain = try SafeTensorsFile(bytes: try Self.bytes(try Self.distinctive(mode: .single, seed: 28)), path: "plain.safetensors")
        let dual = try SafeTensorsFile(bytes: try Self.bytes(try Self.distinctive(mode: .dual, seed: 29)), path: "dual.safetensors")
        do {
            try StateDict.load(plain, into: try Self.distinctive(mode: .dual, seed: 30))
            Issue.record("loaded a plain file into a dual network")
        } catch let error as StateDictError {
            #expect(error.hint == "the file holds a plain network (no b1_model./b2_model. prefixes) and the network is a dual (MANets) one")
            #expect(error.problems.contains("missing tensor fusion_vars.0 (expected shape [1], F32)"))
            #expect(error.problems.contains { $0.hasPrefix("unexpected tensor conv1.weight") })
        }
        do {
            try StateDict.load(dual, into: try Self.distinctive(mode: .single, seed: 31))
            Issue.record("loaded a dual file into a plain network")
        } catch let error as StateDictError {
            #expect(error.hint?.hasPrefix("the file holds a dual (MANets) network") == true)
        }
        // A phase-0 network (plain, 6 classes) refuses the phase-2 file: the split head.
        let phaseZero = trainedSmallNetwork(seed: 32, mode: .single)
        do {
            try StateDict.load(plain, into: phaseZero)
            Issue.record("loaded a phase-2 file into a phase-0 network")
        } catch let error as StateDictError {
            #expect(error.problems.contains("missing tensor fc.weight (expected shape [6, 64], F32)"))
            #expect(error.problems.contains("unexpected tensor fc.fc1.weight (shape [8, 64], F32): the network has no tensor of that name"))
        }
    }
}
