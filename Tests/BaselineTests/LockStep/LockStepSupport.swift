// Support of the lock-step tests: the vectors of Tests/Vectors/lockstep (made by
// its generate.py from the original PyTorch code; its README says what each file
// holds), the image pool and its batches under cil's own transforms, the networks
// built as a run builds them and filled from the original's state dicts, and the
// comparisons with the tolerances the vectors state.

import CILSDK
import Foundation
import Testing

enum LockStep {
    static let directory = BuiltPlugins.packageRoot.appendingPathComponent("Tests/Vectors/lockstep", isDirectory: true)

    static func json(_ name: String) throws -> [String: Any] {
        let url = directory.appendingPathComponent(name)
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw BaselineTestError("\(url.path): expected a JSON object")
        }
        return object
    }

    static func file(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOfFile: directory.appendingPathComponent(name).path)
    }

    /// A JSON number or list of numbers as Float(s).
    static func float(_ value: Any?) -> Float { Float((value as! NSNumber).doubleValue) }
    static func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map { Float($0.doubleValue) } }
    static func ints(_ value: Any?) -> [Int] { (value as! [NSNumber]).map(\.intValue) }

    // MARK: - The image pool

    /// `pool.safetensors`: 300 uint8 images [32, 32, 3] (HWC) and their labels.
    struct Pool {
        /// Planar RGB bytes of every image (the layout cil's transforms read).
        let planes: [[UInt8]]
        let labels: [Int]

        init() throws {
            let file = try LockStep.file("pool.safetensors")
            let hwc = try file.uint8s("images"), n = try file.require("images").shape[0]
            labels = try file.int64s("labels").map(Int.init)
            planes = (0..<n).map { i in
                var planar = [UInt8](repeating: 0, count: 3 * 32 * 32)
                for y in 0..<32 { for x in 0..<32 { for c in 0..<3 {
                    planar[(c * 32 + y) * 32 + x] = hwc[((i * 32 + y) * 32 + x) * 3 + c]
                } } }
                return planar
            }
        }

        /// The images at `indices` under the training transform with the given crop
        /// corners (in the 4-pixel zero-padded image) and flips: [B, 3, 32, 32].
        func trainBatch(_ indices: [Int], top: [Int], left: [Int], flip: [Int]) -> Tensor {
            batch(indices, transform: CIFARTransform(augment: true)) { i in
                CIFARTransform.Parameters(top: top[i], left: left[i], flip: flip[i] != 0)
            }
        }

        /// The images at `indices` under the test transform.
        func testBatch(_ indices: [Int]) -> Tensor {
            batch(indices, transform: CIFARTransform(augment: false)) { _ in CIFARTransform.Parameters(top: 4, left: 4, flip: false) }
        }

        /// A step's batch as the vectors record it (`pool_indices`, `crop_top`, ...).
        func trainBatch(of step: [String: Any]) -> Tensor {
            trainBatch(ints(step["pool_indices"]), top: ints(step["crop_top"]), left: ints(step["crop_left"]),
                       flip: ints(step["flip"]))
        }

        private func batch(_ indices: [Int], transform: CIFARTransform,
                           parameters: (Int) -> CIFARTransform.Parameters) -> Tensor {
            let out = Tensor(uninitializedShape: [indices.count, 3, 32, 32])
            out.withUnsafeMutableBufferPointer { o in
                for (i, index) in indices.enumerated() {
                    planes[index].withUnsafeBufferPointer { pixels in
                        let view = ImageView(width: 32, height: 32, pixels: pixels)
                        let slice = UnsafeMutableBufferPointer(rebasing: o[(i * 3072)..<((i + 1) * 3072)])
                        transform.apply(view, parameters: parameters(i), into: slice)
                    }
                }
            }
            return out
        }
    }

    // MARK: - Networks

    /// The phase-0 network of a run (ResNet-32, the baseline's head over 10 classes),
    /// filled from the original's state dict `file`.
    static func phaseZeroNetwork(_ baseline: any Baseline, file: String, branchMode: BranchMode) throws -> AggregatedNetwork {
        var rng = RandomGenerator(seed: 1)
        let backbone = ResNet.cifar(blocksPerStage: 5, rng: &rng)
        let head = try baseline.makeHead(featureDimension: backbone.featureDimension, classCount: 10, rng: &rng)
        let network = AggregatedNetwork(backbone: backbone, head: head, branchMode: branchMode)
        try StateDict.load(LockStep.file(file), into: network)
        return network
    }

    /// Features of `indices` under the test transform, network in evaluation mode.
    static func features(_ network: AggregatedNetwork, _ pool: Pool, _ indices: [Int]) -> Tensor {
        let wasTraining = network.isTraining
        network.setTraining(false)
        defer { network.setTraining(wasTraining) }
        return withNoGrad { network.forward(pool.testBatch(indices)).features }
    }

    // MARK: - Comparisons

    /// max |a − b| / max(1, max |b|): the error relative to the reference's scale.
    static func scaledError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) values against \(b.count)")
        let scale = max(1, b.map(abs).max() ?? 0)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    /// ‖a − b‖ / ‖b‖ (or ‖a‖ when b is zero).
    static func relativeNormError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "\(a.count) values against \(b.count)")
        let diff = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        let norm = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return norm > 0 ? diff / norm : diff
    }

    /// How far a training run's change of a set of tensors is from the original's:
    /// ‖Δ_cil − Δ_original‖ / ‖Δ_original‖ over all of them together, Δ = end − start
    /// (`start`: the common starting values, by name).
    static func changeError(_ names: [String], mine: (String) throws -> [Float], theirs: (String) throws -> [Float],
                            start: (String) throws -> [Float]) throws -> Double {
        var diff = 0.0, norm = 0.0
        for name in names {
            let s = try start(name), a = try mine(name), b = try theirs(name)
            for i in s.indices {
                let da = Double(a[i] - s[i]), db = Double(b[i] - s[i])
                diff += (da - db) * (da - db)
                norm += db * db
            }
        }
        return (diff / max(norm, 1e-30)).squareRoot()
    }

    /// Moves every parameter of `network` by one float32 rounding step (a relative
    /// 2⁻²³, the sign drawn from `seed`): a start that a float32 implementation
    /// cannot tell from the original, to measure how far float32 rounding alone
    /// carries a trajectory.
    static func perturb(_ network: AggregatedNetwork, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        for (_, t) in network.namedParameters() {
            t.withUnsafeMutableBufferPointer { v in
                for i in v.indices { v[i] *= rng.nextUnitFloat() < 0.5 ? 1 - 0x1p-23 : 1 + 0x1p-23 }
            }
        }
    }

    /// The network's tensor named `name` in the original's state-dict names.
    static func tensor(_ network: AggregatedNetwork, _ name: String) throws -> Tensor {
        guard let entry = try StateDict.entries(of: network).first(where: { $0.name == name }), let t = entry.tensor else {
            throw BaselineTestError("the network has no tensor named \(name)")
        }
        return t
    }
}

extension BuiltPlugins {
    /// Loads `libCILPlugin<target>.so` and returns the branch type it registers as `name`.
    static func branchType(_ name: String, library target: String) throws -> any BranchType {
        let type = try catalog(library: target).catalog.branchType(named: name)
        return try type.init(options: try PluginOptions(plugin: name, specs: type.options, given: [:]))
    }
}
