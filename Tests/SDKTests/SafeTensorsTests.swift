import CILSDK
import Foundation
import Testing

/// The safetensors reader and writer: a file written by the reference
/// implementation (Tests/Vectors/safetensors_reference.safetensors, made by
/// generate_safetensors_reference.py), round trips, and every kind of damage the
/// reader must refuse with a message naming the file, the tensor and what was expected.
@Suite("safetensors")
struct SafeTensorsTests {
    static var referencePath: String {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/", !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("Tests/Vectors/safetensors_reference.safetensors").path
    }

    /// The error `body` throws, as text (nil if it does not throw).
    static func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// A file from header JSON and data bytes (the length field computed unless given).
    static func file(header: String, data: [UInt8], length: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: (length ?? UInt64(json.count)).littleEndian) { out += $0 }
        return out + json + data
    }

    static func read(_ bytes: [UInt8]) -> String? {
        message { _ = try SafeTensorsFile(bytes: bytes, path: "test.safetensors") }
    }

    // MARK: - The reference file

    @Test func readsTheReferenceImplementationsFile() throws {
        let f = try SafeTensorsFile(contentsOfFile: Self.referencePath)
        #expect(f.metadata == ["written_by": "safetensors.torch.save_file"])
        #expect(f.names == ["bf16", "bn1.num_batches_tracked", "bool", "f16", "f32", "f32_empty", "f32_scalar", "f64", "i32", "i64", "u8"])
        #expect(f.info("f32")?.dtype == .f32 && f.info("f32")?.shape == [2, 3])
        #expect(try f.floats("f32") == [1.5, -2.25, 0, 3.0e-8, 1.0e30, -0.125])
        let t = try f.tensor("f32")
        #expect(t.shape == [2, 3] && t.scalars == [1.5, -2.25, 0, 3.0e-8, 1.0e30, -0.125])
        #expect(try f.tensor("f32_scalar").shape == [] && f.floats("f32_scalar") == [0.75])
        #expect(try f.tensor("f32_empty").shape == [0, 4] && f.floats("f32_empty").isEmpty)
        #expect(try f.doubles("f64") == [1.0 / 3.0, -1.0e300, 2.5])
        #expect(try f.tensor("f64").scalars == [Float(1.0 / 3.0), -Float.infinity, 2.5])
        #expect(try f.floats("f16") == [1, -2, 0x1p-24, 65504, .infinity])
        #expect(try f.floats("bf16") == [1, -3.5, Float(bitPattern: 0x7E96_0000)])
        #expect(try f.int64s("i64") == [0, -1, 1 << 40, -(1 << 62)])
        #expect(try f.int32s("i32") == [7, -8, Int32.max, Int32.min])
        #expect(try f.int64s("i32") == [7, -8, Int64(Int32.max), Int64(Int32.min)])
        #expect(try f.uint8s("u8") == [0, 1, 127, 128, 255])
        #expect(try f.int64s("u8") == [0, 1, 127, 128, 255])
        #expect(try f.bools("bool") == [true, false, false, true])
        #expect(try f.int64s("bn1.num_batches_tracked") == [3])
        #expect(f.info("bn1.num_batches_tracked")?.shape == [])
    }

    /// The writer, given the reference file's tensors and metadata, writes the same bytes.
    @Test func writerReproducesTheReferenceFileByteForByte() throws {
        let reference = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.referencePath)))
        let f = try SafeTensorsFile(bytes: reference, path: Self.referencePath)
        var writer = SafeTensorsWriter(metadata: f.metadata)
        for info in f.tensors.reversed() {
            try writer.add(info.name, dtype: info.dtype, shape: info.shape, rawBytes: f.rawBytes(info.name))
        }
        #expect(writer.encoded() == reference)
        // The same through the typed adders.
        var typed = SafeTensorsWriter(metadata: f.metadata)
        try typed.add("f32", floats: f.floats("f32"), shape: [2, 3])
        try typed.add("f32_scalar", f.tensor("f32_scalar"))
        try typed.add("f32_empty", floats: [], shape: [0, 4])
        try typed.add("f64", doubles: f.doubles("f64"), shape: [3])
        try typed.add("f16", dtype: .f16, shape: [5], rawBytes: f.rawBytes("f16"))
        try typed.add("bf16", dtype: .bf16, shape: [3], rawBytes: f.rawBytes("bf16"))
        try typed.add("i64", int64s: f.int64s("i64"), shape: [2, 2])
        try typed.add("i32", int32s: f.int32s("i32"), shape: [4])
        try typed.add("u8", uint8s: f.uint8s("u8"), shape: [5])
        try typed.add("bool", bools: f.bools("bool"), shape: [2, 2])
        try typed.add("bn1.num_batches_tracked", int64s: [3], shape: [])
        #expect(typed.encoded() == reference)
    }

    @Test func typedAccessorsRefuseOtherDTypes() throws {
        let f = try SafeTensorsFile(contentsOfFile: Self.referencePath)
        let asFloat = Self.message { _ = try f.floats("i64") }
        #expect(asFloat?.contains("safetensors_reference.safetensors: tensor 'i64': has dtype I64, cannot be read as Float (expected F32, F16, BF16)") == true, "\(asFloat ?? "")")
        #expect(Self.message { _ = try f.floats("f64") }?.contains("doubles() reads F64") == true)
        #expect(Self.message { _ = try f.int32s("i64") }?.contains("int64s() reads it") == true)
        #expect(Self.message { _ = try f.tensor("bool") }?.contains("cannot be read as a float32 Tensor") == true)
        #expect(Self.message { _ = try f.bools("u8") }?.contains("expected BOOL") == true)
        let missing = Self.message { _ = try f.floats("conv1.weight") }
        #expect(missing?.contains("tensor 'conv1.weight': not in the file (it holds 11 tensors") == true, "\(missing ?? "")")
    }

    // MARK: - Round trips

    @Test func roundTripKeepsEveryValueShapeAndMetadata() throws {
        var writer = SafeTensorsWriter(metadata: ["phase": "1", "note": "é \"quoted\"\n\u{1}tab\t", "b": ""])
        var rng = RandomGenerator(seed: 3)
        let weight = Initializers.normal([4, 3, 3, 3], std: 1, rng: &rng)
        try writer.add("layer1.0.conv1.weight", weight)
        try writer.add("alpha", floats: [0.5], shape: [1])
        try writer.add("values", doubles: [.pi, -0.0, .greatestFiniteMagnitude], shape: [3])
        try writer.add("count", int64s: [Int64.min], shape: [])
        try writer.add("ids", int32s: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        try writer.add("mask", bools: [true, false, true], shape: [3])
        try writer.add("bytes", uint8s: [9, 8], shape: [2])
        let bytes = writer.encoded()
        let headerLength = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        #expect(headerLength % 8 == 0, "the header is padded to a multiple of 8 bytes")
        let f = try SafeTensorsFile(bytes: bytes, path: "round-trip")
        #expect(f.metadata == ["phase": "1", "note": "é \"quoted\"\n\u{1}tab\t", "b": ""])
        #expect(f.names == ["alpha", "bytes", "count", "ids", "layer1.0.conv1.weight", "mask", "values"])
        #expect(try f.tensor("layer1.0.conv1.weight").shape == [4, 3, 3, 3])
        #expect(try f.floats("layer1.0.conv1.weight") == weight.scalars)
        #expect(try f.floats("alpha") == [0.5])
        #expect(try f.doubles("values").map(\.bitPattern) == [Double.pi, -0.0, .greatestFiniteMagnitude].map(\.bitPattern))
        #expect(try f.int64s("count") == [Int64.min] && f.info("count")?.shape == [])
        #expect(try f.int32s("ids") == [1, 2, 3, 4, 5, 6])
        #expect(try f.bools("mask") == [true, false, true])
        #expect(try f.uint8s("bytes") == [9, 8])
        // Larger element types first (each tensor aligned to its element size), then by name.
        #expect(f.tensors.map(\.name) == ["count", "values", "alpha", "layer1.0.conv1.weight", "ids", "bytes", "mask"])
        for info in f.tensors { #expect(info.dataOffsets.lowerBound % info.dtype.byteSize == 0, "\(info.name) aligned") }
    }

    @Test func writeToFileAndReadBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cil-st-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var writer = SafeTensorsWriter()
        try writer.add("x", floats: [1, 2, 3], shape: [3])
        try writer.write(toFile: path)
        let f = try SafeTensorsFile(contentsOfFile: path)
        #expect(try f.metadata.isEmpty && f.names == ["x"] && f.floats("x") == [1, 2, 3])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(!String(decoding: bytes, as: UTF8.self).contains("__metadata__"), "no metadata, no __metadata__ entry")
    }

    @Test func writerRefusesBadTensors() throws {
        var writer = SafeTensorsWriter()
        try writer.add("a", floats: [1], shape: [1])
        #expect(Self.message { try writer.add("a", floats: [1], shape: [1]) }?.contains("tensor 'a': added twice") == true)
        #expect(Self.message { try writer.add("b", floats: [1, 2], shape: [3]) }?.contains("2 values do not fill shape [3]") == true)
        #expect(Self.message { try writer.add("__metadata__", floats: [1], shape: [1]) }?.contains("reserved") == true)
        #expect(Self.message { try writer.add("c", dtype: .f16, shape: [2], rawBytes: [0, 0]) }?.contains("2 bytes given, shape [2] of F16 needs 4") == true)
    }

    @Test func readsMissingFileWithItsName() {
        let m = Self.message { _ = try SafeTensorsFile(contentsOfFile: "/nonexistent/model.safetensors") }
        #expect(m?.hasPrefix("/nonexistent/model.safetensors: cannot read the file") == true, "\(m ?? "")")
    }

    // MARK: - Malformed files

    static let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}"#
    static let goodData = [UInt8](repeating: 0, count: 11)

    @Test func theGoodFileReads() throws {
        let f = try SafeTensorsFile(bytes: Self.file(header: Self.good, data: Self.goodData), path: "test.safetensors")
        #expect(f.names == ["a", "b"])
    }

    @Test func truncatedFilesAreRefused() {
        let whole = Self.file(header: Self.good, data: Self.goodData)
        #expect(Self.read(Array(whole.prefix(5)))?.contains("test.safetensors: is not a safetensors file: 5 bytes, expected at least 8") == true)
        let cut = Self.read(Array(whole.prefix(40)))
        #expect(cut?.contains("the header length \(Self.good.utf8.count) (bytes 0-7, little-endian) exceeds the 32 bytes after it: the file is truncated") == true, "\(cut ?? "")")
        let shortData = Self.read(Array(whole.dropLast(2)))
        #expect(shortData?.contains("tensor 'b': data_offsets [8, 11] run past the end of the data (9 bytes after the header): the file is truncated") == true, "\(shortData ?? "")")
        #expect(Self.read(Self.file(header: Self.good, data: Self.goodData, length: 1)) != nil)
        #expect(Self.read(Self.file(header: Self.good, data: Self.goodData, length: UInt64.max))?.contains("exceeds") == true)
    }

    @Test func badJSONIsRefused() {
        #expect(Self.read(Self.file(header: "[1, 2]", data: []))?.contains("the header does not start with '{'") == true)
        let broken = Self.read(Self.file(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]"#, data: [UInt8](repeating: 0, count: 8)))
        #expect(broken?.contains("test.safetensors: the header is not valid JSON") == true, "\(broken ?? "")")
        let notObject = Self.read(Self.file(header: #"{"a": 3}"#, data: []))
        #expect(notObject?.contains("tensor 'a': the header entry is not an object; expected {\"dtype\"") == true, "\(notObject ?? "")")
        let lacks = Self.read(Self.file(header: #"{"a": {"dtype": "F32", "shape": [2]}}"#, data: []))
        #expect(lacks?.contains("tensor 'a': the header entry lacks data_offsets") == true, "\(lacks ?? "")")
        let extra = Self.read(Self.file(header: #"{"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4], "stride": [1]}}"#, data: [0, 0, 0, 0]))
        #expect(extra?.contains("has unknown fields stride") == true, "\(extra ?? "")")
        let types = Self.read(Self.file(header: #"{"a": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}}"#, data: []))
        #expect(types?.contains("tensor 'a': the header entry does not have the expected types") == true, "\(types ?? "")")
        let fractional = Self.read(Self.file(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8.5]}}"#, data: []))
        #expect(fractional?.contains("tensor 'a'") == true, "\(fractional ?? "")")
        let metadata = Self.read(Self.file(header: #"{"__metadata__": {"phase": 1}}"#, data: []))
        #expect(metadata?.contains("__metadata__ must be an object of string values") == true, "\(metadata ?? "")")
        let dtype = Self.read(Self.file(header: #"{"a": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0]))
        #expect(dtype?.contains("tensor 'a': unknown dtype 'F31' (expected one of BOOL, U8") == true, "\(dtype ?? "")")
        let negative = Self.read(Self.file(header: #"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0]))
        #expect(negative?.contains("shape [-1] has a negative dimension") == true, "\(negative ?? "")")
        let invalidUTF8 = Self.read(Self.file(header: "{\"\u{00}\"}", data: []).enumerated().map { $0.offset == 10 ? 0xFF : $0.element })
        #expect(invalidUTF8?.contains("not valid UTF-8") == true, "\(invalidUTF8 ?? "")")
    }

    @Test func offsetsMustBeContiguousNonOverlappingAndFillTheData() {
        let overlap = Self.read(Self.file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                          data: [UInt8](repeating: 0, count: 8)))
        #expect(overlap?.contains("tensor 'b': data_offsets [4, 8] overlap those of tensor 'a' ([0, 8])") == true, "\(overlap ?? "")")
        let gap = Self.read(Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                                      data: [UInt8](repeating: 0, count: 12)))
        #expect(gap?.contains("tensor 'b': data_offsets [8, 12] leave bytes 4..<8 of the data unused") == true, "\(gap ?? "")")
        let notFromZero = Self.read(Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8)))
        #expect(notFromZero?.contains("leave bytes 0..<4") == true)
        let trailing = Self.read(Self.file(header: Self.good, data: Self.goodData + [1, 2, 3]))
        #expect(trailing?.contains("test.safetensors: 3 bytes after the last tensor's data (the tensors hold 11 of the 14 data bytes)") == true, "\(trailing ?? "")")
        let reversed = Self.read(Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: [UInt8](repeating: 0, count: 8)))
        #expect(reversed?.contains("data_offsets [8, 4] are not an interval") == true)
        let pair = Self.read(Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, data: []))
        #expect(pair?.contains("data_offsets has 1 numbers, expected 2") == true)
    }

    @Test func byteCountMustMatchShapeAndDType() {
        let wrong = Self.read(Self.file(header: #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, data: [UInt8](repeating: 0, count: 12)))
        #expect(wrong?.contains("tensor 'a': data_offsets [0, 12] hold 12 bytes, expected 16 (shape [2, 2] of F32, 4 bytes each)") == true, "\(wrong ?? "")")
        let huge = Self.read(Self.file(header: #"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)))
        #expect(huge?.contains("tensor 'a': shape [4294967296, 4294967296] of F64 has too many elements to address") == true, "\(huge ?? "")")
        let bool = Self.read(Self.file(header: #"{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}"#, data: [1, 2]))
        #expect(bool == nil, "the file itself is valid")
        let f = try? SafeTensorsFile(bytes: Self.file(header: #"{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}"#, data: [1, 2]), path: "b")
        #expect(Self.message { _ = try f?.bools("m") }?.contains("element 1 of this BOOL tensor is the byte 2, expected 0 or 1") == true)
    }

    /// Cut at every length, the reference file is refused with an error (no crash).
    @Test func everyTruncationOfTheReferenceFileIsRefused() throws {
        let reference = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.referencePath)))
        for n in 0..<reference.count {
            #expect(Self.read(Array(reference.prefix(n))) != nil, "\(n) bytes")
        }
    }
}
