import ArgumentParser
import CILSDK
import Foundation

/// `cil bench`: times full training steps (forward, loss, backward, SGD update) of
/// a CIL ResNet (CIFAR ResNet-32 on 32×32 images, or ImageNet ResNet-18 on 224×224,
/// the backbone and input size of the image-folder runs) on random data after
/// warm-up; reports the median images/s.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps (forward, loss, backward, SGD) and no-grad evaluation of a CIL ResNet."
    )

    @Option(help: "Network: resnet32 (CIFAR ResNet-32) or resnet18 (ImageNet ResNet-18, the image-folder backbone).")
    var model: String = "resnet32"

    @Option(name: .customLong("image-size"), help: "Side of the square random input images (default: the model's own, 32 for resnet32, 224 for resnet18).")
    var imageSize: Int?

    @Option(help: "Images per step.")
    var batch: Int = 128

    @Option(help: "Timed steps (after warm-up).")
    var steps: Int = 10

    @Option(help: "Untimed warm-up steps.")
    var warmup: Int = 2

    @Option(help: "Threads for the engine and BLAS.")
    var threads: Int = 2

    @Option(help: "Classes of the linear head.")
    var classes: Int = 100

    @Option(name: .customLong("branch-mode"), help: "single (the plain network) or dual (the MANets network of phase >= 1: ss stable and free plastic blocks, loaded from their plugins).")
    var branchMode: String = "single"

    @OptionGroup var directories: PluginDirectoryOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard let backbone = BackboneKind(rawValue: model), Self.naturalImageSize[backbone] != nil else {
            throw ValidationError("--model \(model): expected resnet32 or resnet18")
        }
        if let imageSize, imageSize < 8 {
            throw ValidationError("--image-size must be at least 8, got \(imageSize)")
        }
        guard batch >= 2 else { throw ValidationError("--batch must be at least 2 (batch norm needs it), got \(batch)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard BranchMode(rawValue: branchMode) != nil else { throw ValidationError("--branch-mode \(branchMode): expected single or dual") }
    }

    /// The models and their input sides: the CIFAR images, and the 224×224 crops the
    /// image-folder pipeline feeds ResNet-18 (`ImageNetTransform`).
    static let naturalImageSize: [BackboneKind: Int] = [.resnet32: 32, .resnet18: 224]

    func run() throws {
        try Engine.configure(threads: threads)
        var rng = RandomGenerator(seed: 1)
        let mode = BranchMode(rawValue: branchMode)!
        let backbone = BackboneKind(rawValue: model)!
        let side = imageSize ?? Self.naturalImageSize[backbone]!
        // The backbones the runner builds for --backbone resnet32 and resnet18.
        guard let resnet = backbone.make(rng: &rng) as? ResNet else {
            throw ValidationError("--model \(model): expected resnet32 or resnet18")
        }
        let flops = ResNetFLOPs(backbone: resnet, imageSize: side, classes: classes, dual: mode == .dual)
        let net = try makeNetwork(resnet, mode: mode, rng: &rng)
        let x = Initializers.normal([batch, 3, side, side], std: 1, rng: &rng)
        let y = (0..<batch).map { _ in rng.nextInt(below: classes) }
        let (trainTimes, evalTimes) = time(net, images: x, targets: y)
        let trainRate = Double(batch) / median(trainTimes)
        let evalRate = Double(batch) / median(evalTimes)
        let peak = SGEMMPeak.measure()
        let achieved = trainRate * flops.trainingStep / 1e9
        if json {
            let result: [String: Any] = [
                "model": model, "image_size": side, "branch_mode": branchMode, "batch": batch, "threads": threads,
                "steps": steps, "images_per_second": trainRate, "eval_images_per_second": evalRate,
                "peak_rss_bytes": peakResidentBytes(), "blas_core": BLAS.coreName,
                "blas_core_source": BLAS.coreSource, "direct_conv_vector_width": DirectConv3x3.enabled ? DirectConv3x3.vectorWidth : 0,
                "winograd": DirectConv3x3.enabled ? WinogradConv3x3.setting : "off",
                "winograd_tile": WinogradConv3x3.tileSetting,
                "gflop_per_training_image": flops.trainingStep / 1e9, "gflop_per_eval_image": flops.forward / 1e9,
                "train_gflops": achieved, "sgemm_peak_gflops": peak, "fraction_of_sgemm_peak": achieved / peak,
            ]
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("model \(model) (\(branchMode)), \(side)×\(side) images, batch \(batch), threads \(threads), BLAS core \(BLAS.coreName) (\(BLAS.coreSource)), Winograd \(DirectConv3x3.enabled ? WinogradConv3x3.setting : "off") (tile \(WinogradConv3x3.tileSetting))")
            print(String(format: "train step: %.1f images/s (median of %d steps)", trainRate, steps))
            print(String(format: "evaluation: %.1f images/s (no-grad forward)", evalRate))
            print(String(format: "peak resident memory: %.0f MiB", Double(peakResidentBytes()) / 1_048_576))
            print(String(format: "work: %.3f GFLOP per training image; %.1f GFLOP/s achieved = %.0f%% of the sgemm peak (%.1f GFLOP/s, %d threads)",
                         flops.trainingStep / 1e9, achieved, 100 * achieved / peak, peak, threads))
        }
    }

    /// The network on `backbone` with a linear head; in dual mode the phase >= 1
    /// network, its ss and free blocks derived by the real plugins.
    func makeNetwork(_ backbone: ResNet, mode: BranchMode, rng: inout RandomGenerator) throws -> AggregatedNetwork {
        let net = AggregatedNetwork(backbone: backbone, head: LinearHead(featureDimension: backbone.featureDimension,
                                                                         classCount: classes, rng: &rng), branchMode: mode)
        if mode == .dual {
            let catalog = PluginLoader.loadAll(pluginDirs: directories.pluginDirs)
            let (stableName, plasticName) = (DefaultPlugins.stableBranch, DefaultPlugins.plasticBranch)
            let stable = try catalog.branchType(named: stableName).init(options: PluginOptions(plugin: stableName, specs: [], given: [:]))
            let plastic = try catalog.branchType(named: plasticName).init(options: PluginOptions(plugin: plasticName, specs: [], given: [:]))
            try net.deriveBranches(stable: stable, plastic: plastic, rng: &rng)
        }
        return net
    }

    /// Seconds of each timed training step (after the warm-up), then of each no-grad
    /// forward pass in evaluation mode (after one untimed pass).
    func time(_ net: AggregatedNetwork, images x: Tensor, targets y: [Int]) -> (train: [Double], eval: [Double]) {
        let sgd = SGD(groups: OptimizerGroups.make(for: net, learningRate: 0.1, weightDecay: 5e-4, mode: .corrected))
        func trainStep() {
            sgd.zeroGrad()
            let loss = Tensor.crossEntropy(logits: net.forward(x).logits, targets: y)
            loss.backward()
            sgd.step()
            _ = loss.item
        }
        func evalStep() {
            withNoGrad { _ = net.forward(x) }
        }
        func timed(_ step: () -> Void) -> [Double] {
            (0..<steps).map { _ in
                let t0 = DispatchTime.now().uptimeNanoseconds
                step()
                return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            }
        }
        net.setTraining(true)
        for _ in 0..<warmup { trainStep() }
        let trainTimes = timed(trainStep)
        net.setTraining(false)
        evalStep()
        return (trainTimes, timed(evalStep))
    }
}

/// The median of a non-empty list.
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Peak resident set size of this process, in bytes (getrusage).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

/// The machine's sgemm rate on the engine's threads: the median of five
/// 1024×1024×1024 products through `BLAS.sgemm` (blocks split over the threads).
enum SGEMMPeak {
    static func measure(size: Int = 1024) -> Double {
        let a = [Float](repeating: 0.5, count: size * size), b = [Float](repeating: 0.25, count: size * size)
        var c = [Float](repeating: 0, count: size * size)
        var times: [Double] = []
        for _ in 0..<6 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        BLAS.sgemm(m: size, n: size, k: size, a: ap.baseAddress!, lda: size, b: bp.baseAddress!, ldb: size,
                                   c: cp.baseAddress!, ldc: size)
                    }
                }
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(size * size * size) / median(Array(times.dropFirst())) / 1e9
    }
}
