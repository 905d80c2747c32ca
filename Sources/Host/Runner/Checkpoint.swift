import CILSDK
import Foundation

/// The state after a finished phase: every tensor of the network (parameters,
/// buffers, α and α's accumulated gradient) by name, the exemplar memory and the
/// results so far. The network's structure is not stored: it is rebuilt from the
/// configuration (it depends only on the configuration and the phase).
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
        let json = try JSONEncoder().encode(header)
        var data = Self.magic
        var length = UInt64(json.count).littleEndian
        data.append(Data(bytes: &length, count: 8))
        data.append(json)
        for v in values {
            v.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
        }
        var digest = SHA256()
        data.withUnsafeBytes { digest.update($0) }
        data.append(contentsOf: digest.finalize())
        return data
    }

    /// Reads and verifies a checkpoint file; errors name the file and the problem.
    static func load(from url: URL) throws -> Checkpoint {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunError.checkpoint("cannot read checkpoint \(path)")
        }
        guard data.count >= magic.count + 8 + 32, data.prefix(magic.count) == magic else {
            throw RunError.checkpoint("checkpoint \(path) is not a cil checkpoint (bad magic or too short)")
        }
        let body = data.prefix(data.count - 32)
        var digest = SHA256()
        body.withUnsafeBytes { digest.update($0) }
        guard Array(data.suffix(32)) == digest.finalize() else {
            throw RunError.checkpoint("checkpoint \(path) is corrupt or truncated (checksum mismatch)")
        }
        let length = body.dropFirst(magic.count).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let headerStart = magic.count + 8
        guard length <= UInt64(body.count - headerStart) else {
            throw RunError.checkpoint("checkpoint \(path): header length \(length) exceeds the file")
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: body.subdata(in: headerStart..<(headerStart + Int(length))))
        } catch {
            throw RunError.checkpoint("checkpoint \(path): unreadable header (\(error))")
        }
        guard header.formatVersion == formatVersion else {
            throw RunError.checkpoint("checkpoint \(path) has format version \(header.formatVersion), this cil reads \(formatVersion)")
        }
        guard header.sdkVersion == SDKInfo.version else {
            throw RunError.checkpoint("checkpoint \(path) was written by SDK \(header.sdkVersion), this cil runs SDK \(SDKInfo.version)")
        }
        var offset = headerStart + Int(length)
        var values: [[Float]] = []
        for t in header.tensors {
            let n = t.shape.reduce(1, *)
            guard offset + n * 4 <= body.count else {
                throw RunError.checkpoint("checkpoint \(path): tensor \(t.name) runs past the end of the data")
            }
            let v = body.subdata(in: offset..<(offset + n * 4)).withUnsafeBytes { raw in
                Array(raw.bindMemory(to: Float.self))
            }
            values.append(v)
            offset += n * 4
        }
        guard offset == body.count else {
            throw RunError.checkpoint("checkpoint \(path): \(body.count - offset) unexpected bytes after the tensors")
        }
        return Checkpoint(header: header, values: values)
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

    /// Captures the network's tensors.
    init(phase: Int, configuration: RunConfiguration, network: AggregatedNetwork, memory: ExemplarMemory, results: [PhaseResult]) {
        let named = Self.tensors(of: network)
        header = Header(formatVersion: Self.formatVersion, sdkVersion: SDKInfo.version, phase: phase,
                        configuration: configuration, tensors: named.map { TensorEntry(name: $0.0, shape: $0.1.shape) },
                        memory: memory, results: results)
        values = named.map(\.1.scalars)
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
