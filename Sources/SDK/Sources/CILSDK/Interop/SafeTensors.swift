import Foundation

/// The element types of the safetensors format, by their names in the header.
/// `byteSize` is the size of one element; the declaration order is the format's
/// (the reference writer stores larger types first, see `SafeTensorsWriter`).
public enum SafeTensorsDType: String, Sendable, CaseIterable, Comparable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// Whether the elements are floating point (readable as `Tensor`).
    public var isFloatingPoint: Bool { [.f16, .bf16, .f32, .f64, .f8e5m2, .f8e4m3].contains(self) }

    /// Whether the elements are integers (signed or unsigned; BOOL is not).
    public var isInteger: Bool { [.u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64].contains(self) }

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: SafeTensorsDType, b: SafeTensorsDType) -> Bool { a.rank < b.rank }
}

/// A safetensors file that could not be read or written, or a tensor of it that is
/// missing or of another type than asked for. The message names the file (and the
/// tensor) and says what was expected.
public struct SafeTensorsError: Error, Equatable, CustomStringConvertible {
    /// The file (or what the bytes were called).
    public let file: String
    /// The tensor concerned, if one is.
    public let tensor: String?
    /// What is wrong, and what was expected.
    public let message: String

    public init(file: String, tensor: String? = nil, _ message: String) {
        self.file = file
        self.tensor = tensor
        self.message = message
    }

    public var description: String {
        "\(file): " + (tensor.map { "tensor '\($0)': " } ?? "") + message
    }
}

/// A safetensors file read into memory and validated: the tensors' names, dtypes,
/// shapes and data, and the string metadata (`__metadata__`).
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (`{"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, ...,
/// "__metadata__": {"KEY": "VALUE", ...}}`, possibly padded with trailing spaces),
/// then the data: every tensor's little-endian, row-major elements at
/// [BEGIN, END) of the bytes after the header.
///
/// Everything is checked when the file is opened, so that the typed accessors
/// cannot fail on a damaged file: the header length against the file size, the
/// JSON's shape (every entry an object with exactly `dtype`, `shape`,
/// `data_offsets`; metadata values strings), the dtype names, each tensor's byte
/// count against product(shape) · dtype size, and the offsets: inside the data,
/// in order without overlap or gap, the last ending where the file ends (as the
/// reference implementation demands).
///
/// The accessors convert only where no value can change: `floats` reads F32, F16
/// and BF16; `doubles` every float dtype but F8; integers widen (`int64s` reads
/// every integer dtype, refusing U64 values above Int64.max). `tensor` (the
/// engine's float32 `Tensor`) also reads F64, rounding to the nearest float32.
public struct SafeTensorsFile: Sendable {
    /// One tensor of the header.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        /// Byte range within the data (after the header).
        public let dataOffsets: Range<Int>
        /// product(shape) (1 for a 0-d tensor).
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The file name used in error messages.
    public let path: String
    /// `__metadata__` (empty if the file has none).
    public let metadata: [String: String]
    /// Every tensor, in the order of its data.
    public let tensors: [TensorInfo]
    private let byName: [String: Int]
    private let bytes: [UInt8]
    private let dataStart: Int

    /// The largest header the reference implementation accepts (100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// Reads and validates the file at `path`.
    public init(contentsOfFile path: String) throws {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path, what: "a safetensors file")
        } catch let error as DataError {
            throw SafeTensorsError(file: path, "cannot read the file (\(error))")
        }
        try self.init(bytes: bytes, path: path)
    }

    /// Validates `bytes`, the content of a safetensors file; `path` names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(file: path, message) }
        func fail(_ tensor: String, _ message: String) -> SafeTensorsError {
            SafeTensorsError(file: path, tensor: tensor, message)
        }
        guard bytes.count >= 8 else {
            throw fail("is not a safetensors file: \(bytes.count) bytes, expected at least 8 (the header length)")
        }
        let declared = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        let available = UInt64(bytes.count - 8)
        guard declared <= available else {
            throw fail("the header length \(declared) (bytes 0-7, little-endian) exceeds the \(available) bytes after it: the file is truncated or not a safetensors file")
        }
        guard declared >= 2, declared <= UInt64(Self.maxHeaderBytes) else {
            throw fail("the header length \(declared) is implausible (expected 2 to \(Self.maxHeaderBytes) bytes)")
        }
        let headerEnd = 8 + Int(declared)
        let headerBytes = bytes[8..<headerEnd]
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail("the header does not start with '{' (a JSON object is expected after the 8-byte length)")
        }
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw fail("the header is not valid UTF-8")
        }
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(headerBytes))
        } catch let error as HeaderProblem {
            throw SafeTensorsError(file: path, tensor: error.tensor, error.message)
        } catch {
            throw fail("the header is not valid JSON (\(Self.describe(error)))")
        }

        let dataLength = bytes.count - headerEnd
        var infos: [TensorInfo] = []
        for (name, entry) in raw.tensors {
            guard let dtype = SafeTensorsDType(rawValue: entry.dtype) else {
                throw fail(name, "unknown dtype '\(entry.dtype)' (expected one of \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if let bad = entry.shape.first(where: { $0 < 0 }) {
                throw fail(name, "shape \(entry.shape) has a negative dimension \(bad)")
            }
            guard entry.data_offsets.count == 2 else {
                throw fail(name, "data_offsets has \(entry.data_offsets.count) numbers, expected 2 ([begin, end])")
            }
            let (begin, end) = (entry.data_offsets[0], entry.data_offsets[1])
            guard begin >= 0, begin <= end else {
                throw fail(name, "data_offsets [\(begin), \(end)] are not an interval (expected 0 <= begin <= end)")
            }
            guard end <= dataLength else {
                throw fail(name, "data_offsets [\(begin), \(end)] run past the end of the data (\(dataLength) bytes after the header): the file is truncated")
            }
            var needed = dtype.byteSize
            for d in entry.shape {
                let (product, overflow) = needed.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw fail(name, "shape \(entry.shape) of \(dtype.rawValue) has too many elements to address")
                }
                needed = product
            }
            guard end - begin == needed else {
                throw fail(name, "data_offsets [\(begin), \(end)] hold \(end - begin) bytes, expected \(needed) (shape \(entry.shape) of \(dtype.rawValue), \(dtype.byteSize) bytes each)")
            }
            infos.append(TensorInfo(name: name, dtype: dtype, shape: entry.shape, dataOffsets: begin..<end))
        }
        infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name) }
        var position = 0
        var previous: TensorInfo?
        for info in infos {
            let range = info.dataOffsets
            if range.lowerBound < position, let previous {
                throw fail(info.name, "data_offsets [\(range.lowerBound), \(range.upperBound)] overlap those of tensor '\(previous.name)' ([\(previous.dataOffsets.lowerBound), \(previous.dataOffsets.upperBound)]); expected each tensor to begin where the one before ends")
            }
            if range.lowerBound > position {
                throw fail(info.name, "data_offsets [\(range.lowerBound), \(range.upperBound)] leave bytes \(position)..<\(range.lowerBound) of the data unused; expected the tensors to be contiguous from byte 0")
            }
            position = range.upperBound
            previous = info
        }
        guard position == dataLength else {
            throw fail("\(dataLength - position) bytes after the last tensor's data (the tensors hold \(position) of the \(dataLength) data bytes); expected the file to end with the last tensor")
        }
        self.path = path
        metadata = raw.metadata ?? [:]
        tensors = infos
        byName = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($0.element.name, $0.offset) })
        self.bytes = bytes
        dataStart = headerEnd
    }

    /// Tensor names, sorted.
    public var names: [String] { tensors.map(\.name).sorted() }

    /// The header entry of `name`, if the file has it.
    public func info(_ name: String) -> TensorInfo? { byName[name].map { tensors[$0] } }

    /// The header entry of `name`; an error naming the file if it is absent.
    public func require(_ name: String) throws -> TensorInfo {
        guard let info = info(name) else {
            throw SafeTensorsError(file: path, tensor: name, "not in the file (it holds \(tensors.count) tensors: \(Self.abbreviated(names)))")
        }
        return info
    }

    /// The raw little-endian bytes of `name`.
    public func rawBytes(_ name: String) throws -> [UInt8] {
        let info = try require(name)
        return Array(bytes[(dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)])
    }

    /// Elements of `name` as Float: F32, or F16 / BF16 widened (exact).
    public func floats(_ name: String) throws -> [Float] {
        let info = try require(name)
        switch info.dtype {
        case .f32: return elements(info, UInt32.self) { Float(bitPattern: $0) }
        case .f16: return elements(info, UInt16.self) { Self.halfToFloat($0) }
        case .bf16: return elements(info, UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        default: throw wrongType(info, wanted: "Float", accepted: [.f32, .f16, .bf16], hint: info.dtype == .f64 ? "; doubles() reads F64, tensor() rounds it to float32" : "")
        }
    }

    /// Elements of `name` as Double: F64, or F32 / F16 / BF16 widened (exact).
    public func doubles(_ name: String) throws -> [Double] {
        let info = try require(name)
        switch info.dtype {
        case .f64: return elements(info, UInt64.self) { Double(bitPattern: $0) }
        case .f32, .f16, .bf16: return try floats(name).map(Double.init)
        default: throw wrongType(info, wanted: "Double", accepted: [.f64, .f32, .f16, .bf16])
        }
    }

    /// Elements of `name` as Int64: any integer dtype, widened; U64 values above
    /// Int64.max are refused.
    public func int64s(_ name: String) throws -> [Int64] {
        let info = try require(name)
        switch info.dtype {
        case .i64: return elements(info, UInt64.self) { Int64(bitPattern: $0) }
        case .u64:
            let values = elements(info, UInt64.self) { $0 }
            if let i = values.firstIndex(where: { $0 > UInt64(Int64.max) }) {
                throw SafeTensorsError(file: path, tensor: name, "element \(i) (\(values[i])) of this U64 tensor does not fit in Int64")
            }
            return values.map { Int64(truncatingIfNeeded: $0) }
        case .i32, .u32, .i16, .u16, .i8, .u8: return try narrowIntegers(info)
        default: throw wrongType(info, wanted: "Int64", accepted: [.i64, .u64, .i32, .u32, .i16, .u16, .i8, .u8])
        }
    }

    /// Elements of `name` as Int32: I32, or I16 / U16 / I8 / U8 widened.
    public func int32s(_ name: String) throws -> [Int32] {
        let info = try require(name)
        switch info.dtype {
        case .i32, .i16, .u16, .i8, .u8: return try narrowIntegers(info).map { Int32($0) }
        default: throw wrongType(info, wanted: "Int32", accepted: [.i32, .i16, .u16, .i8, .u8],
                                 hint: [.i64, .u32, .u64].contains(info.dtype) ? "; int64s() reads it" : "")
        }
    }

    /// Elements of `name` as bytes: U8 (or BOOL, as 0 and 1).
    public func uint8s(_ name: String) throws -> [UInt8] {
        let info = try require(name)
        switch info.dtype {
        case .u8: return try rawBytes(name)
        case .bool: return try bools(name).map { $0 ? 1 : 0 }
        default: throw wrongType(info, wanted: "UInt8", accepted: [.u8, .bool])
        }
    }

    /// Elements of `name` as Bool: BOOL (each byte 0 or 1; any other byte is refused).
    public func bools(_ name: String) throws -> [Bool] {
        let info = try require(name)
        guard info.dtype == .bool else { throw wrongType(info, wanted: "Bool", accepted: [.bool]) }
        let raw = try rawBytes(name)
        if let i = raw.firstIndex(where: { $0 > 1 }) {
            throw SafeTensorsError(file: path, tensor: name, "element \(i) of this BOOL tensor is the byte \(raw[i]), expected 0 or 1")
        }
        return raw.map { $0 == 1 }
    }

    /// `name` as an engine tensor of its shape: float dtypes (F64 rounded to float32).
    public func tensor(_ name: String, requiresGrad: Bool = false) throws -> Tensor {
        let info = try require(name)
        let values: [Float]
        switch info.dtype {
        case .f32, .f16, .bf16: values = try floats(name)
        case .f64: values = try doubles(name).map { Float($0) }
        default: throw wrongType(info, wanted: "a float32 Tensor", accepted: [.f32, .f64, .f16, .bf16])
        }
        return Tensor(shape: info.shape, values, requiresGrad: requiresGrad)
    }

    // MARK: - Element decoding

    private func elements<Bits: FixedWidthInteger, T>(_ info: TensorInfo, _: Bits.Type, _ convert: (Bits) -> T) -> [T] {
        let start = dataStart + info.dataOffsets.lowerBound
        let size = MemoryLayout<Bits>.size
        return bytes.withUnsafeBytes { raw in
            (0..<info.elementCount).map { i in
                convert(Bits(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * size, as: Bits.self)))
            }
        }
    }

    /// Integer dtypes of at most 32 bits (U32 included), as Int64.
    private func narrowIntegers(_ info: TensorInfo) throws -> [Int64] {
        switch info.dtype {
        case .i32: return elements(info, UInt32.self) { Int64(Int32(bitPattern: $0)) }
        case .u32: return elements(info, UInt32.self) { Int64($0) }
        case .i16: return elements(info, UInt16.self) { Int64(Int16(bitPattern: $0)) }
        case .u16: return elements(info, UInt16.self) { Int64($0) }
        case .i8: return elements(info, UInt8.self) { Int64(Int8(bitPattern: $0)) }
        case .u8: return elements(info, UInt8.self) { Int64($0) }
        default: preconditionFailure("narrowIntegers: \(info.dtype) is not a narrow integer dtype")
        }
    }

    private func wrongType(_ info: TensorInfo, wanted: String, accepted: [SafeTensorsDType], hint: String = "") -> SafeTensorsError {
        SafeTensorsError(file: path, tensor: info.name,
                         "has dtype \(info.dtype.rawValue), cannot be read as \(wanted) (expected \(accepted.map(\.rawValue).joined(separator: ", ")))\(hint)")
    }

    /// IEEE 754 binary16 -> binary32 (exact).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = UInt32((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    static func abbreviated(_ names: [String], limit: Int = 8) -> String {
        names.count <= limit ? names.joined(separator: ", ") : names.prefix(limit).joined(separator: ", ") + ", ... (\(names.count - limit) more)"
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.dataCorrupted(context): return context.debugDescription
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
             let DecodingError.keyNotFound(_, context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : "at \(path): ") + context.debugDescription
        default: return "\(error)"
        }
    }
}

// MARK: - The header's JSON

/// A problem found while decoding the header, with the tensor it concerns.
private struct HeaderProblem: Error {
    let tensor: String?
    let message: String
}

private struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// One tensor entry as written: exactly these three fields.
private struct RawEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let data_offsets: [Int]

    static let fields = ["dtype", "shape", "data_offsets"]
}

private struct RawHeader: Decodable {
    var tensors: [(String, RawEntry)] = []
    var metadata: [String: String]?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for key in container.allKeys {
            let name = key.stringValue
            if name == "__metadata__" {
                guard let values = try? container.decode([String: String].self, forKey: key) else {
                    throw HeaderProblem(tensor: nil, message: "__metadata__ must be an object of string values (\"KEY\": \"VALUE\")")
                }
                metadata = values
                continue
            }
            let expected = "expected {\"dtype\": \"F32\", \"shape\": [...], \"data_offsets\": [begin, end]}"
            guard let fields = try? container.nestedContainer(keyedBy: AnyKey.self, forKey: key) else {
                throw HeaderProblem(tensor: name, message: "the header entry is not an object; \(expected)")
            }
            let given = Set(fields.allKeys.map(\.stringValue))
            let missing = RawEntry.fields.filter { !given.contains($0) }
            let extra = given.subtracting(RawEntry.fields).sorted()
            guard missing.isEmpty, extra.isEmpty else {
                let parts = (missing.isEmpty ? [] : ["lacks \(missing.joined(separator: ", "))"])
                    + (extra.isEmpty ? [] : ["has unknown fields \(extra.joined(separator: ", "))"])
                throw HeaderProblem(tensor: name, message: "the header entry \(parts.joined(separator: " and ")); \(expected)")
            }
            do {
                tensors.append((name, try container.decode(RawEntry.self, forKey: key)))
            } catch {
                throw HeaderProblem(tensor: name, message: "the header entry does not have the expected types (\(SafeTensorsFile.describe(error))); \(expected) with non-negative integers")
            }
        }
    }
}

// MARK: - Writing

/// Builds a safetensors file the way the reference implementation (the Python
/// `safetensors` package) does: the data ordered by dtype, larger element types
/// first, then by name (so every tensor is aligned to its element size); the header
/// compact JSON in that order, `__metadata__` first (its keys sorted), padded with
/// spaces to a multiple of 8 bytes. For the same tensors and metadata the bytes
/// equal the reference's (which orders metadata keys arbitrarily).
public struct SafeTensorsWriter: Sendable {
    private struct Entry: Sendable {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var data: [UInt8]
    }

    /// `__metadata__`: string keys and values (omitted from the file when empty).
    public var metadata: [String: String]
    private var entries: [String: Entry] = [:]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Names added so far, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Adds a tensor of raw little-endian bytes (`data.count` must be
    /// product(shape) · dtype size). Names must be unique and not `__metadata__`.
    public mutating func add(_ name: String, dtype: SafeTensorsDType, shape: [Int], rawBytes data: [UInt8]) throws {
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(file: "safetensors writer", tensor: name, message) }
        guard name != "__metadata__" else { throw fail("the name __metadata__ is reserved for the metadata") }
        guard entries[name] == nil else { throw fail("added twice") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("shape \(shape) has a negative dimension") }
        let expected = shape.reduce(dtype.byteSize, *)
        guard data.count == expected else {
            throw fail("\(data.count) bytes given, shape \(shape) of \(dtype.rawValue) needs \(expected)")
        }
        entries[name] = Entry(name: name, dtype: dtype, shape: shape, data: data)
    }

    public mutating func add(_ name: String, floats values: [Float], shape: [Int]) throws {
        try add(name, dtype: .f32, shape: shape, values: values) { $0.bitPattern }
    }

    /// Adds an engine tensor as F32 with its shape.
    public mutating func add(_ name: String, _ tensor: Tensor) throws {
        try add(name, floats: tensor.scalars, shape: tensor.shape)
    }

    public mutating func add(_ name: String, doubles values: [Double], shape: [Int]) throws {
        try add(name, dtype: .f64, shape: shape, values: values) { $0.bitPattern }
    }

    public mutating func add(_ name: String, int64s values: [Int64], shape: [Int]) throws {
        try add(name, dtype: .i64, shape: shape, values: values) { UInt64(bitPattern: $0) }
    }

    public mutating func add(_ name: String, int32s values: [Int32], shape: [Int]) throws {
        try add(name, dtype: .i32, shape: shape, values: values) { UInt32(bitPattern: $0) }
    }

    public mutating func add(_ name: String, uint8s values: [UInt8], shape: [Int]) throws {
        try add(name, dtype: .u8, shape: shape, values: values) { $0 }
    }

    public mutating func add(_ name: String, bools values: [Bool], shape: [Int]) throws {
        try add(name, dtype: .bool, shape: shape, values: values) { $0 ? UInt8(1) : 0 }
    }

    private mutating func add<T, Bits: FixedWidthInteger>(_ name: String, dtype: SafeTensorsDType, shape: [Int], values: [T],
                                                          bits: (T) -> Bits) throws {
        guard shape.allSatisfy({ $0 >= 0 }), values.count == shape.reduce(1, *) else {
            throw SafeTensorsError(file: "safetensors writer", tensor: name,
                                   "\(values.count) values do not fill shape \(shape) (expected \(shape.reduce(1, *)))")
        }
        var data = [UInt8](repeating: 0, count: values.count * MemoryLayout<Bits>.size)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: bits(v).littleEndian, toByteOffset: i * MemoryLayout<Bits>.size, as: Bits.self)
            }
        }
        try add(name, dtype: dtype, shape: shape, rawBytes: data)
    }

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        let ordered = entries.values.sorted { $0.dtype != $1.dtype ? $0.dtype > $1.dtype : $0.name < $1.name }
        var json = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(Self.quoted($0)):\(Self.quoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for e in ordered {
            let shape = e.shape.map(String.init).joined(separator: ",")
            parts.append("\(Self.quoted(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.data.count)]}")
            offset += e.data.count
        }
        json += parts.joined(separator: ",") + "}"
        var header = Array(json.utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for e in ordered { out += e.data }
        return out
    }

    /// Writes the file (atomically: a temporary file renamed over `path`).
    public func write(toFile path: String) throws {
        do {
            try Data(encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SafeTensorsError(file: path, "cannot write the file (\(error.localizedDescription))")
        }
    }

    /// A JSON string literal, escaped as serde_json does.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case _ where scalar.value < 0x20:
                out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
