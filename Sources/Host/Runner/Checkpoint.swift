import CILSDK
import Foundation

/// The state after a finished phase: every tensor of the network (parameters,
/// buffers, α and α's accumulated gradient) by name, the exemplar memory and the
/// results so far. The network's structure is not stored: it is rebuilt from the
/// configuration (it depends only on the configuration and the phase).
///
/// An in-progress checkpoint (`header.inProgress` set) is the state of phase
/// `header.phase` after some of its epochs: the network, the optimizers' momentum
/// buffers (extra tensors named `momentum:PARAM` and `alpha-momentum:alpha.I`) and
/// the training stream's generator, so that a resumed phase continues exactly where
/// the interrupted one stopped.
///
/// File layout: "CILCKPT1", a little-endian UInt64 header length, the JSON header,
/// the float32 data of every tensor in header order, then the 32-byte SHA-256 of
/// everything before it. A file that is truncated, altered or of another format
/// version is refused on load.
struct Checkpoint {
    struct Header: Codable {
        var formatVersion: Int
        var sdkVersion: String
        var phase: Int
        var configuration: RunConfiguration
        var tensors: [TensorEntry]
        var memory: ExemplarMemory
        var results: [PhaseResult]
        /// Set only in an in-progress checkpoint (absent from finished phases' files).
        var inProgress: InProgress?
    }

    /// Where a phase stood after its last finished epoch.
    struct InProgress: Codable, Equatable {
        /// Epochs of the phase finished (the next one to run is this index).
        var epochsDone: Int
        /// The generator of the phase's batches and augmentation, after those epochs.
        var generator: RandomGenerator.State
        /// α after each finished epoch (empty rows for a single-branch network).
        var alphaTrace: [[Float]]
        /// Wall seconds the phase had taken so far (counted into its reported time).
        var seconds: Double
        /// Parameters holding a gradient tensor (zeroed, not dropped, between steps:
        /// they keep receiving weight decay and momentum, docs/ALGORITHMS.md §4).
        var parametersWithGradient: [String]
        /// `seconds` by part (`PhaseClock`), so a resumed phase reports the whole
        /// phase's breakdown. Absent from files of older cil versions, which still load
        /// (the resumed phase then counts their time as `other`).
        var secondsBreakdown: [String: Double]? = nil
    }

    struct TensorEntry: Codable {
        var name: String
        var shape: [Int]
    }

    static let magic = Data("CILCKPT1".utf8)
    static let formatVersion = 1

    var header: Header
    /// Values of `header.tensors`, in order.
    var values: [[Float]]

    /// Serialises and checksums.
    func encoded() throws -> Data {
        // Compact, not `JSONEncoder.cil`: the header is read by cil alone, and another
        // format would change the bytes (and checksum) of every checkpoint written.
        let json = try JSONEncoder().encode(header)
        var data = Self.magic
        var length = UInt64(json.count).littleEndian
        data.append(Data(bytes: &length, count: 8))
        data.append(json)
        for v in values {
            v.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
        }
        return Self.checksummed(data)
    }

    /// `body` followed by its checksum, the format's last field: SHA-256 of everything before it.
    static func checksummed(_ body: Data) -> Data {
        var digest = SHA256()
        body.withUnsafeBytes { digest.update($0) }
        return body + digest.finalize()
    }

    /// Reads and verifies a checkpoint file; errors name the file and the problem.
    static func load(from url: URL) throws -> Checkpoint {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw RunError.checkpoint("cannot read checkpoint \(url.path)")
        }
        return try decode(data, path: url.path)
    }

    /// At most this many tensors in a header (a network has a few hundred).
    static let maxTensors = 1 << 20

    /// Verifies and parses the bytes of a checkpoint file. Every length and shape in
    /// the file is checked against the bytes actually present before anything is
    /// allocated, so a damaged or hostile file is refused, never trusted; errors
    /// name `path` and the problem.
    static func decode(_ data: Data, path: String) throws -> Checkpoint {
        let body = try verifiedBody(data, path: path)
        let (header, headerEnd) = try readHeader(body, path: path)
        try checkPlausible(header, path: path)
        return Checkpoint(header: header, values: try readValues(body, from: headerEnd, of: header.tensors, path: path))
    }

    /// Everything before the checksum, once the magic and the checksum are right.
    static func verifiedBody(_ data: Data, path: String) throws -> Data {
        guard data.count >= magic.count + 8 + 32, data.prefix(magic.count) == magic else {
            throw RunError.checkpoint("checkpoint \(path) is not a cil checkpoint (bad magic or too short)")
        }
        let body = data.prefix(data.count - 32)
        var digest = SHA256()
        body.withUnsafeBytes { digest.update($0) }
        guard Array(data.suffix(32)) == digest.finalize() else {
            throw RunError.checkpoint("checkpoint \(path) is corrupt or truncated (checksum mismatch)")
        }
        return body
    }

    /// The JSON header after the magic and its length, and the index where it ends;
    /// refused unless its format and SDK versions are this cil's.
    static func readHeader(_ body: Data, path: String) throws -> (Header, end: Int) {
        let length = body.dropFirst(magic.count).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let headerStart = body.startIndex + magic.count + 8
        guard UInt64(littleEndian: length) <= UInt64(body.endIndex - headerStart) else {
            throw RunError.checkpoint("checkpoint \(path): header length \(UInt64(littleEndian: length)) exceeds the file")
        }
        let headerEnd = headerStart + Int(UInt64(littleEndian: length))
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: body.subdata(in: headerStart..<headerEnd))
        } catch {
            throw RunError.checkpoint("checkpoint \(path): unreadable header (\(error))")
        }
        guard header.formatVersion == formatVersion else {
            throw RunError.checkpoint("checkpoint \(path) has format version \(header.formatVersion), this cil reads \(formatVersion)")
        }
        guard header.sdkVersion == SDKInfo.version else {
            throw RunError.checkpoint("checkpoint \(path) was written by SDK \(header.sdkVersion), this cil runs SDK \(SDKInfo.version)")
        }
        return (header, headerEnd)
    }

    /// Refuses a header whose phase, tensor count, exemplar memory or in-progress
    /// state cannot be right.
    static func checkPlausible(_ header: Header, path: String) throws {
        guard header.phase >= 0, header.tensors.count <= maxTensors else {
            throw RunError.checkpoint("checkpoint \(path): implausible header (phase \(header.phase), \(header.tensors.count) tensors)")
        }
        for (dataClass, entry) in header.memory.entries where dataClass < 0 || entry.positions.count != entry.ranks.count
            || entry.positions.contains(where: { $0 < 0 }) {
            throw RunError.checkpoint("checkpoint \(path): the exemplar memory of class \(dataClass) is inconsistent")
        }
        if let state = header.inProgress {
            guard state.epochsDone >= 0, state.generator.words.count == 4, state.seconds.isFinite, state.seconds >= 0 else {
                throw RunError.checkpoint("checkpoint \(path): implausible in-progress state (epoch \(state.epochsDone), \(state.generator.words.count) generator words)")
            }
        }
    }

    /// The float32 values of `tensors`, in order, from `offset` to the end of `body`
    /// exactly.
    static func readValues(_ body: Data, from offset: Int, of tensors: [TensorEntry], path: String) throws -> [[Float]] {
        var offset = offset
        var values: [[Float]] = []
        values.reserveCapacity(tensors.count)
        for t in tensors {
            // The byte count of the tensor, refused if a dimension is negative or the
            // product overflows or exceeds what is left of the file.
            let available = body.endIndex - offset
            var bytes = 4
            for d in t.shape {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow, product <= available else {
                    throw RunError.checkpoint("checkpoint \(path): tensor \(t.name) of shape \(t.shape) runs past the end of the data")
                }
                bytes = product
            }
            guard bytes <= available else {
                throw RunError.checkpoint("checkpoint \(path): tensor \(t.name) of shape \(t.shape) runs past the end of the data")
            }
            values.append(body.subdata(in: offset..<(offset + bytes)).withUnsafeBytes { raw in Array(raw.bindMemory(to: Float.self)) })
            offset += bytes
        }
        guard offset == body.endIndex else {
            throw RunError.checkpoint("checkpoint \(path): \(body.endIndex - offset) unexpected bytes after the tensors")
        }
        return values
    }

    /// The named tensors of a network: parameters, buffers, α and α's gradient.
    static func tensors(of network: AggregatedNetwork) -> [(String, Tensor)] {
        var list = network.namedParameters() + network.namedBuffers()
        let listed = Set(list.map(\.0))
        for (i, a) in network.alphas.enumerated() {
            if !listed.contains("alpha.\(i)") { list.append(("alpha.\(i)", a)) }
            if let g = a.grad { list.append(("alpha.\(i).grad", g)) }
        }
        return list
    }

    /// Captures the network's tensors, and `extra` named tensors after them.
    init(phase: Int, configuration: RunConfiguration, network: AggregatedNetwork, memory: ExemplarMemory, results: [PhaseResult],
         inProgress: InProgress? = nil, extra: [(String, Tensor)] = []) {
        let named = Self.tensors(of: network) + extra
        header = Header(formatVersion: Self.formatVersion, sdkVersion: SDKInfo.version, phase: phase,
                        configuration: configuration, tensors: named.map { TensorEntry(name: $0.0, shape: $0.1.shape) },
                        memory: memory, results: results, inProgress: inProgress)
        values = named.map(\.1.scalars)
    }

    /// The stored tensor `name` as a new tensor, if present.
    func tensor(named name: String) -> Tensor? {
        guard let i = header.tensors.firstIndex(where: { $0.name == name }) else { return nil }
        return Tensor(shape: header.tensors[i].shape, values[i])
    }

    init(header: Header, values: [[Float]]) {
        self.header = header
        self.values = values
    }

    /// Writes the values into a network of the same structure; every tensor must be
    /// present with its shape. α gradients are restored as they were.
    func restore(into network: AggregatedNetwork, file: String) throws {
        var stored: [String: (TensorEntry, [Float])] = [:]
        for (e, v) in zip(header.tensors, values) { stored[e.name] = (e, v) }
        for (name, tensor) in network.namedParameters() + network.namedBuffers() + network.alphas.enumerated().map({ ("alpha.\($0.offset)", $0.element) }) {
            guard let (entry, v) = stored[name] else {
                throw RunError.checkpoint("checkpoint \(file) lacks tensor \(name): it was written by a different configuration")
            }
            guard entry.shape == tensor.shape else {
                throw RunError.checkpoint("checkpoint \(file): tensor \(name) has shape \(entry.shape), the network needs \(tensor.shape)")
            }
            tensor.assign(Tensor(shape: tensor.shape, v))
        }
        for (i, a) in network.alphas.enumerated() {
            if let (entry, v) = stored["alpha.\(i).grad"] { a.grad = Tensor(shape: entry.shape, v) } else { a.grad = nil }
        }
    }
}
