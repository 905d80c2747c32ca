/// An `AggregatedNetwork` as a PyTorch state dict: every tensor under the module
/// name the original code gives it, so that a file written here loads with
/// `load_state_dict(strict=True)` into the original's models, and one saved there
/// loads here. The names (docs/INTEROP.md lists them):
///
/// - **Plain** (phase 0, or single-branch mode in any phase): exactly the original
///   ResNet's state dict, no prefix. `conv1.weight`, `bn1.{weight, bias,
///   running_mean, running_var, num_batches_tracked}`, `layer1.0.conv1.weight`, ...,
///   `layer2.0.downsample.0.weight`, `layer2.0.downsample.1.*`. A conv's kernel
///   adapter lists its parameters beside the kernel: the `ss` scale is
///   `conv1.mtl_weight`, as in the original's `Conv2dMtl`.
/// - **Dual** (MANets, from phase 1 on): `b1_model.<plain names>` (the stable
///   branch, with the head), `b2_model.<plain names>` (the plastic branch) and
///   `fusion_vars.0` ... `fusion_vars.{L-1}` (α, shape [1] like the original's
///   `nn.Parameter(torch.FloatTensor([0.5]))`).
/// - **Head**, as `fc` (under `b1_model.` when dual): a cosine head is
///   `fc.weight` + `fc.sigma` (`CosineLinear`) until it has an old block, then
///   `fc.fc1.weight` + `fc.fc2.weight` + `fc.sigma` (`SplitCosineLinear`); any
///   other head lists its own names under `fc.` (the linear head `fc.weight`,
///   `fc.bias` like `nn.Linear`; the local-similarity head `fc.old_weights`,
///   `fc.new_weights`, `fc.scale`).
///
/// Two kinds of entries are written only so that the original loads the file
/// strictly, and are accepted but not read on load:
/// - `*.num_batches_tracked` (int64, shape []): cil's batch norm uses a fixed
///   momentum (0.1) and does not count batches, so 0 is written. PyTorch reads the
///   count only when a batch norm's momentum is None.
/// - `b2_model.fc.weight` [phase-0 classes, D] and `b2_model.fc.sigma` [1] (dual
///   networks with a cosine head): the original's branch-2 model carries the
///   phase-0 classifier it was copied from, and never uses or trains it. Written:
///   the phase-0 classes' rows of the head (frozen since phase 1, so the phase-0
///   values) and the head's current σ (the original keeps phase 0's σ there).
///
/// Loading is strict: a tensor the network has and the file lacks, one the file
/// has and the network lacks, a wrong shape, or a non-float dtype is an error;
/// every problem is listed, with the expected shape. Nothing is written into the
/// network unless the whole file fits. Float data of F64, F16 or BF16 is
/// converted to float32.
public enum StateDict {
    /// What an entry is for.
    public enum Kind: Sendable, Equatable {
        /// A parameter, buffer or α: written, and read on load.
        case value
        /// `num_batches_tracked`: written as int64 0, accepted (any integer scalar) and ignored on load.
        case batchCounter
        /// Written for the original's sake, shape-checked if present, ignored on load (`b2_model.fc.*`).
        case unusedCopy
    }

    /// One name of the state dict.
    public struct Entry {
        public let name: String
        public let kind: Kind
        /// The network's tensor (`.value`), or what is written for it (`.unusedCopy`);
        /// nil for `.batchCounter`.
        public let tensor: Tensor?
        /// The shape written and expected ([] for a batch counter).
        public var shape: [Int] { tensor?.shape ?? [] }
    }

    /// Whether the network is written with the dual prefixes.
    public static func isDual(_ network: AggregatedNetwork) -> Bool { network.plastic != nil }

    /// The network's entries in a stable order (levels in order, then the head; dual:
    /// branch 1, its head, branch 2, its unused head, α). Throws if two tensors would
    /// get the same name (a block type whose names collide).
    public static func entries(of network: AggregatedNetwork) throws -> [Entry] {
        var list: [Entry] = []
        if let plastic = network.plastic {
            for level in network.stable { walk(level, prefix: "b1_model.", into: &list) }
            head(network.head, prefix: "b1_model.fc.", into: &list)
            for level in plastic { walk(level, prefix: "b2_model.", into: &list) }
            if let cosine = network.head as? CosineHead {
                let rows = withNoGrad { () -> Tensor in
                    let all = cosine.oldWeight.map { Tensor.concatenate([$0, cosine.newWeight], axis: 0) } ?? cosine.newWeight
                    let c = min(network.phaseZeroClassCount, all.shape[0]), d = all.shape[1]
                    return Tensor(shape: [c, d], Array(all.scalars.prefix(c * d)))
                }
                list.append(Entry(name: "b2_model.fc.weight", kind: .unusedCopy, tensor: rows))
                list.append(Entry(name: "b2_model.fc.sigma", kind: .unusedCopy, tensor: cosine.sigma.copy()))
            }
            for (k, alpha) in network.alphas.enumerated() {
                list.append(Entry(name: "fusion_vars.\(k)", kind: .value, tensor: alpha))
            }
        } else {
            for level in network.stable { walk(level, prefix: "", into: &list) }
            head(network.head, prefix: "fc.", into: &list)
        }
        var seen = Set<String>()
        for e in list where !seen.insert(e.name).inserted {
            throw StateDictError(file: "the network", problems: ["two tensors are both named \(e.name): a block or head type lists colliding names"])
        }
        return list
    }

    /// A block's tensors: its own parameters and buffers, then its children's; a
    /// conv's kernel-adapter tensors under the conv's own prefix.
    static func walk(_ layer: any Layer, prefix: String, into list: inout [Entry]) {
        for (name, t) in layer.localParameters + layer.localBuffers {
            list.append(Entry(name: prefix + name, kind: .value, tensor: t))
        }
        if layer is BatchNorm2d {
            list.append(Entry(name: prefix + "num_batches_tracked", kind: .batchCounter, tensor: nil))
        }
        if let conv = layer as? Conv2d {
            if let adapter = conv.kernelAdapter { walk(adapter, prefix: prefix, into: &list) }
            return
        }
        for (name, child) in layer.children {
            walk(child, prefix: name.isEmpty ? prefix : prefix + name + ".", into: &list)
        }
    }

    static func head(_ head: any ClassifierHead, prefix: String, into list: inout [Entry]) {
        guard let cosine = head as? CosineHead else {
            walk(head, prefix: prefix, into: &list)
            return
        }
        if let old = cosine.oldWeight {
            list.append(Entry(name: prefix + "fc1.weight", kind: .value, tensor: old))
            list.append(Entry(name: prefix + "fc2.weight", kind: .value, tensor: cosine.newWeight))
        } else {
            list.append(Entry(name: prefix + "weight", kind: .value, tensor: cosine.newWeight))
        }
        list.append(Entry(name: prefix + "sigma", kind: .value, tensor: cosine.sigma))
    }

    // MARK: - Writing

    /// A writer holding the network's state dict (float32 tensors, int64 batch
    /// counters) and `metadata` plus `layout` ("plain" or "dual") and `head` (the
    /// head's class name).
    public static func writer(for network: AggregatedNetwork, metadata: [String: String] = [:]) throws -> SafeTensorsWriter {
        var meta = metadata
        meta["layout"] = isDual(network) ? "dual" : "plain"
        meta["head"] = String(describing: type(of: network.head))
        var writer = SafeTensorsWriter(metadata: meta)
        for e in try entries(of: network) {
            if let t = e.tensor {
                try writer.add(e.name, t)
            } else {
                try writer.add(e.name, int64s: [0], shape: [])
            }
        }
        return writer
    }

    /// Writes the network's state dict to `path` (see `writer(for:metadata:)`).
    public static func write(_ network: AggregatedNetwork, toFile path: String, metadata: [String: String] = [:]) throws {
        try writer(for: network, metadata: metadata).write(toFile: path)
    }

    // MARK: - Loading

    /// Float dtypes a value may be stored in.
    static let floatTypes: [SafeTensorsDType] = [.f32, .f64, .f16, .bf16]

    /// Everything that keeps `file` from loading into `network` (empty: it fits).
    public static func problems(loading file: SafeTensorsFile, into network: AggregatedNetwork) throws -> [String] {
        try plan(file, network).problems
    }

    /// Loads the state dict in `file` into `network` (strict; see the type's
    /// documentation). On error nothing is changed.
    public static func load(_ file: SafeTensorsFile, into network: AggregatedNetwork) throws {
        let (assignments, problems) = try plan(file, network)
        guard problems.isEmpty else {
            throw StateDictError(file: file.path, problems: problems, hint: hint(file, network))
        }
        for (tensor, values) in assignments { tensor.assign(values) }
    }

    /// Reads `path` and loads it into `network`.
    public static func load(contentsOfFile path: String, into network: AggregatedNetwork) throws {
        try load(try SafeTensorsFile(contentsOfFile: path), into: network)
    }

    static func plan(_ file: SafeTensorsFile, _ network: AggregatedNetwork) throws
        -> (assignments: [(Tensor, Tensor)], problems: [String]) {
        let expected = try entries(of: network)
        var problems: [String] = []
        var assignments: [(Tensor, Tensor)] = []
        for e in expected {
            guard let info = file.info(e.name) else {
                if e.kind == .value { problems.append("missing tensor \(e.name) (expected shape \(e.shape), F32)") }
                continue
            }
            switch e.kind {
            case .batchCounter:
                if !info.dtype.isInteger || info.elementCount != 1 {
                    problems.append("tensor \(e.name) has dtype \(info.dtype.rawValue) and shape \(info.shape), expected an integer scalar (I64, shape [])")
                }
            case .value, .unusedCopy:
                if !floatTypes.contains(info.dtype) {
                    problems.append("tensor \(e.name) has dtype \(info.dtype.rawValue), expected F32 (or F64, F16, BF16)")
                } else if info.shape != e.shape {
                    problems.append("tensor \(e.name) has shape \(info.shape), the network needs \(e.shape)")
                } else if e.kind == .value, let target = e.tensor {
                    assignments.append((target, try file.tensor(e.name)))
                }
            }
        }
        let known = Set(expected.map(\.name))
        for info in file.tensors.sorted(by: { $0.name < $1.name }) where !known.contains(info.name) {
            problems.append("unexpected tensor \(info.name) (shape \(info.shape), \(info.dtype.rawValue)): the network has no tensor of that name")
        }
        return (assignments, problems)
    }

    /// A sentence for the commonest mismatch: a plain file for a dual network or back.
    static func hint(_ file: SafeTensorsFile, _ network: AggregatedNetwork) -> String? {
        let fileIsDual = file.tensors.contains { $0.name.hasPrefix("b1_model.") }
        let fileIsPlain = file.tensors.contains { $0.name == "conv1.weight" || $0.name == "conv_1_3x3.weight" }
        if isDual(network), fileIsPlain, !fileIsDual {
            return "the file holds a plain network (no b1_model./b2_model. prefixes) and the network is a dual (MANets) one"
        }
        if !isDual(network), fileIsDual {
            return "the file holds a dual (MANets) network (b1_model.*, b2_model.*, fusion_vars.*) and the network is a plain one"
        }
        return nil
    }
}

/// A state dict that does not fit a network: every missing, unexpected or
/// mis-shaped tensor, with the file's name.
public struct StateDictError: Error, Equatable, CustomStringConvertible {
    public let file: String
    /// One line per problem.
    public let problems: [String]
    /// What the problems suggest, if anything obvious.
    public let hint: String?

    public init(file: String, problems: [String], hint: String? = nil) {
        self.file = file
        self.problems = problems
        self.hint = hint
    }

    public var description: String {
        let head = "\(file) does not fit the network (\(problems.count) problem\(problems.count == 1 ? "" : "s")"
            + (hint.map { "; \($0)" } ?? "") + "):"
        return ([head] + problems.map { "  " + $0 }).joined(separator: "\n")
    }
}
