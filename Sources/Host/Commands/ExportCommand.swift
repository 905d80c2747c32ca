import ArgumentParser
import CILSDK
import Foundation

/// `cil export`: the network of a finished phase as a PyTorch state dict in a
/// safetensors file (the original code's module names, both branches and α; see
/// `StateDict` and docs/INTEROP.md), and optionally a probe: fixed random images
/// with cil's eval-mode logits and features for them, to check another framework
/// against.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the network of a finished phase as a PyTorch state dict (.safetensors).",
        discussion: """
        Plain networks (phase 0, or single-branch runs) get the original ResNet's names (conv1.weight, \
        layer1.0.bn1.running_mean, fc.weight, fc.sigma, ...; with --backbone rebuffi32 PODNet's \
        conv_1_3x3.weight, stage_1.blocks.0.bn_a.weight, ...); MANets networks from phase 1 on get \
        b1_model.*, b2_model.* and fusion_vars.0 ... (α). __metadata__ records the cil version, phase, \
        baseline, branch mode and types, backbone, classes and mode. --probe writes `images` (normal \
        random, seeded, [n, 3, H, W], already normalised), and cil's eval-mode `logits` and `features` \
        for them (--probe-input: for the images of another file, e.g. one written in PyTorch). \
        Examples/pytorch/load_in_original.py loads both into the original code's models.
        """)

    @Argument(help: ArgumentHelp("The run directory (of `cil run --out`).", valueName: "run-dir"))
    var runDirectory: String

    @Option(help: "The finished phase to export (0 is the base phase).")
    var phase: Int

    @Option(help: ArgumentHelp("Where to write the state dict.", valueName: "file.safetensors"))
    var out: String

    @Option(help: ArgumentHelp("Also write probe images with cil's logits and features for them.", valueName: "file.safetensors"))
    var probe: String?

    @Option(name: .customLong("probe-images"), help: "Images in the probe.")
    var probeImages: Int = 8

    @Option(name: .customLong("probe-seed"), help: "Seed of the probe images.")
    var probeSeed: UInt64 = 0

    @Option(name: .customLong("probe-input"),
            help: ArgumentHelp("Take the probe images from this file's `images` tensor ([n, 3, H, W], e.g. a probe written in PyTorch) instead of drawing them.",
                               valueName: "file.safetensors"))
    var probeInput: String?

    @OptionGroup var directories: PluginDirectoryOptions

    @Option(help: "Threads for the engine (default: all CPUs).")
    var threads: Int?

    func validate() throws {
        guard phase >= 0 else { throw ValidationError("--phase must be 0 or more, got \(phase)") }
        guard (1...4096).contains(probeImages) else { throw ValidationError("--probe-images must be 1 to 4096, got \(probeImages)") }
        if probe != nil, probe == out { throw ValidationError("--probe and --out name the same file \(out)") }
    }

    func run() throws {
        let directory = RunDirectory(url: URL(fileURLWithPath: runDirectory))
        let checkpoint = try Self.finishedCheckpoint(directory, phase: phase)
        try Engine.configure(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let catalog = PluginLoader.loadAll(pluginDirs: directories.pluginDirs)
        let config = checkpoint.header.configuration
        let seen = checkpoint.header.results.map(\.classes_seen)
        guard seen.count == phase + 1 else {
            throw RunError.checkpoint("checkpoint \(directory.checkpointURL(phase: phase).path) holds results of \(seen.count) phases, expected \(phase + 1)")
        }
        // The class counts of the phases so far are all the structure needs.
        let classesPerPhase = seen.indices.map { $0 == 0 ? seen[0] : seen[$0] - seen[$0 - 1] }
        let builder = try RunNetworkBuilder(config: config, catalog: catalog, classesPerPhase: classesPerPhase)
        let network = try builder.restore(from: checkpoint, file: directory.checkpointURL(phase: phase).path)
        network.setTraining(false)

        let metadata = Self.metadata(config: config, phase: phase, classesPerPhase: classesPerPhase)
        let writer = try StateDict.writer(for: network, metadata: metadata)
        try writeAtomically(Data(writer.encoded()), to: URL(fileURLWithPath: out))
        let layout = StateDict.isDual(network) ? "dual: b1_model (\(config.branch1)), b2_model (\(config.branch2)), fusion_vars.0-\(network.levelCount - 1)"
            : "plain" + (phase > 0 ? " (\(config.branch1))" : "")
        print("wrote \(out): phase \(phase) of \(runDirectory), \(layout), \(writer.names.count) tensors, \(seen[phase]) classes")

        if let probe {
            let (images, source) = try makeProbeImages(backbone: config.backbone)
            let outputs = withNoGrad { network.forward(images) }
            var probeWriter = SafeTensorsWriter(metadata: metadata.merging(source) { $1 })
            try probeWriter.add("images", images)
            try probeWriter.add("logits", outputs.logits)
            try probeWriter.add("features", outputs.features)
            try writeAtomically(Data(probeWriter.encoded()), to: URL(fileURLWithPath: probe))
            let from = probeInput.map { "from \($0)" } ?? "seed \(probeSeed)"
            print("wrote \(probe): images \(images.shape) (\(from)), eval-mode logits \(outputs.logits.shape) and features \(outputs.features.shape)")
        }
    }

    /// The probe's images and the metadata saying where they came from: `--probe-input`'s
    /// `images`, or `--probe-images` standard-normal images drawn with `--probe-seed`
    /// (32×32 for the CIFAR ResNets, 224×224 for the ImageNet ones).
    func makeProbeImages(backbone: BackboneKind) throws -> (Tensor, [String: String]) {
        if let probeInput {
            let file = try SafeTensorsFile(contentsOfFile: probeInput)
            let images = try file.tensor("images")
            guard images.rank == 4, images.shape[1] == 3, images.shape[0] >= 1 else {
                throw RunError.configuration("--probe-input \(probeInput): images has shape \(images.shape), expected [n, 3, H, W]")
            }
            return (images, ["probe_input": probeInput])
        }
        let side = backbone.isImageNet ? 224 : SyntheticDataset.imageSide
        var rng = RandomGenerator(seed: probeSeed)
        return (Initializers.normal([probeImages, 3, side, side], std: 1, rng: &rng),
                ["probe_seed": "\(probeSeed)", "probe_images": "\(probeImages)"])
    }

    /// The checkpoint of finished phase `phase`, or an error saying what the directory holds.
    static func finishedCheckpoint(_ directory: RunDirectory, phase: Int) throws -> Checkpoint {
        let path = directory.url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunError.configuration("\(path): no such run directory")
        }
        guard FileManager.default.fileExists(atPath: directory.configURL.path) else {
            throw RunError.configuration("\(path) is not a cil run directory (it has no config.json)")
        }
        let url = directory.checkpointURL(phase: phase)
        guard FileManager.default.fileExists(atPath: url.path) else {
            let finished = (0..<((directory.lastCheckpointedPhase() ?? -1) + 1)).filter {
                FileManager.default.fileExists(atPath: directory.checkpointURL(phase: $0).path)
            }
            let state = FileManager.default.fileExists(atPath: directory.inProgressURL(phase: phase).path) ? " (it is in progress)" : ""
            let have = finished.isEmpty ? "no phase is finished yet" : "finished phases: \(finished.map(String.init).joined(separator: ", "))"
            throw RunError.configuration("\(path): phase \(phase) is not finished\(state); \(have)")
        }
        return try Checkpoint.load(from: url)
    }

    /// `__metadata__` of an exported network (the SDK adds `layout` and `head`).
    static func metadata(config: RunConfiguration, phase: Int, classesPerPhase: [Int]) -> [String: String] {
        [
            "format": "cil-state-dict",
            "cil_version": CIL.version,
            "sdk_version": SDKInfo.version,
            "phase": "\(phase)",
            "baseline": config.baseline,
            "branch_mode": config.branchMode.rawValue,
            "branch_1": config.branch1,
            "branch_2": config.branch2,
            "backbone": config.backbone.rawValue,
            "dataset": config.dataset,
            "classes_seen": "\(classesPerPhase.reduce(0, +))",
            "phase0_classes": "\(classesPerPhase[0])",
            "classes_per_phase": classesPerPhase.map(String.init).joined(separator: ","),
            "mode": config.mode.rawValue,
        ]
    }
}
