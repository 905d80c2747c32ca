// Loads the PyTorch reference vectors of Tests/Vectors/pytorch (see its README.md)
// and compares engine results with them.
//
// Numbers are kept as their JSON text and parsed with `Float(_:)` (correctly
// rounded), so every input is exactly the float32 the reference used; going through
// Double first could round twice. Tolerances follow the README: an element passes
// when |actual − expected| ≤ atol + rtol·|expected|; integer data must match exactly.
//
// The vectors are part of the package: Tests/Vectors/pytorch under the package root
// (the first ancestor of this file with a Package.swift). A missing directory or file
// is an error naming the path, so the tests fail instead of skipping.
//
// Set TESTVECTOR_REPORT=1 to print the worst error of every compared tensor.

import CILSDK
import Foundation
import Testing

// MARK: - Errors

/// A problem with the vector files themselves (missing, malformed, unexpected layout).
struct TestVectorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Minimal JSON (numbers kept as text)

/// A JSON value. Numbers keep their literal text so that they can be parsed as Float.
enum VectorJSON {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([VectorJSON])
    case object([String: VectorJSON])

    subscript(key: String) -> VectorJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    var arrayValue: [VectorJSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var objectValue: [String: VectorJSON]? {
        if case .object(let o) = self { return o }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var numberText: String? {
        if case .number(let s) = self { return s }
        return nil
    }

    /// The number parsed as float32 (exact for the files' shortest round-trip decimals).
    var floatValue: Float? { numberText.flatMap { Float($0) } }

    /// The number as an integer (also accepts an integral decimal such as `2.0`).
    var intValue: Int? {
        guard let t = numberText else { return nil }
        if let i = Int(t) { return i }
        if let d = Double(t), d.rounded() == d, Swift.abs(d) < 9.0e15 { return Int(d) }
        return nil
    }
}

/// A strict recursive-descent JSON parser over UTF-8 bytes.
struct VectorJSONParser {
    private let bytes: [UInt8]
    private var i = 0

    static func parse(_ data: Data) throws -> VectorJSON {
        var p = VectorJSONParser(bytes: [UInt8](data))
        p.skipWhitespace()
        let v = try p.value()
        p.skipWhitespace()
        guard p.i == p.bytes.count else { throw p.error("trailing characters") }
        return v
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ what: String) -> TestVectorError {
        TestVectorError("JSON parse error at byte \(i): \(what)")
    }

    private mutating func skipWhitespace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private mutating func expect(_ literal: String) throws {
        for b in literal.utf8 {
            guard i < bytes.count, bytes[i] == b else { throw error("expected \(literal)") }
            i += 1
        }
    }

    private mutating func value() throws -> VectorJSON {
        guard i < bytes.count else { throw error("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return try number()
        }
    }

    private mutating func object() throws -> VectorJSON {
        i += 1
        var out: [String: VectorJSON] = [:]
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
        while true {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key") }
            let key = try string()
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            out[key] = try value()
            skipWhitespace()
            guard i < bytes.count else { throw error("unterminated object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
            throw error("expected , or }")
        }
    }

    private mutating func array() throws -> VectorJSON {
        i += 1
        var out: [VectorJSON] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
        while true {
            skipWhitespace()
            out.append(try value())
            skipWhitespace()
            guard i < bytes.count else { throw error("unterminated array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
            throw error("expected , or ]")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16)
        else { throw error("bad \\u escape") }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let b = bytes[i]
            i += 1
            switch b {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { throw error("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        try expect("\\u")
                        let low = try hex4()
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("bad code point") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw error("bad escape")
                }
            default:
                out.append(b)
            }
        }
    }

    private mutating func number() throws -> VectorJSON {
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            let isNumberByte = (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
                || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
            guard isNumberByte else { break }
            i += 1
        }
        guard i > start else { throw error("unexpected character") }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard Double(text) != nil else { throw error("bad number \(text)") }
        return .number(text)
    }
}

// MARK: - Reference tensors

/// A tensor of a vector file: shape plus float32 data (and the integers for int64).
struct VectorTensor {
    let shape: [Int]
    let values: [Float]
    /// The data as integers, for tensors with `"dtype": "int64"`.
    let integers: [Int]?

    init(_ json: VectorJSON, what: String) throws {
        guard let shapeJSON = json["shape"]?.arrayValue, let dataJSON = json["data"]?.arrayValue else {
            throw TestVectorError("\(what) is not a {shape, data} tensor")
        }
        let shape = try shapeJSON.map { v -> Int in
            guard let d = v.intValue else { throw TestVectorError("\(what): bad shape entry") }
            return d
        }
        guard Tensor.elementCount(shape) == dataJSON.count else {
            throw TestVectorError("\(what): shape \(shape) but \(dataJSON.count) values")
        }
        self.shape = shape
        if json["dtype"]?.stringValue == "int64" {
            let ints = try dataJSON.map { v -> Int in
                guard let k = v.intValue else { throw TestVectorError("\(what): non-integer in int64 data") }
                return k
            }
            integers = ints
            values = ints.map { Float($0) }
        } else {
            integers = nil
            values = try dataJSON.map { v -> Float in
                guard let f = v.floatValue else { throw TestVectorError("\(what): non-numeric data") }
                return f
            }
        }
    }

    var count: Int { values.count }

    /// The single value of a one-element tensor.
    var scalar: Float { values[0] }

    /// A fresh engine tensor with these values.
    func tensor(requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, values, requiresGrad: requiresGrad)
    }

    /// The int64 data (throws for float tensors).
    func ints(_ what: String) throws -> [Int] {
        guard let integers else { throw TestVectorError("\(what) is not an int64 tensor") }
        return integers
    }
}

/// The element-wise test |actual − expected| ≤ atol + rtol·|expected|.
struct VectorTolerance: CustomStringConvertible {
    var rtol: Float
    var atol: Float

    static let exact = VectorTolerance(rtol: 0, atol: 0)

    func bound(_ expected: Float) -> Float { atol + rtol * Swift.abs(expected) }

    var description: String { "rtol \(rtol), atol \(atol)" }
}

// MARK: - Files and cases

/// One loaded vector file.
struct VectorFile {
    let fileName: String
    let json: VectorJSON
    let tolerance: VectorTolerance
    let cases: [VectorCase]

    /// Names of the cases in file order.
    var caseNames: [String] { cases.map(\.name) }

    /// The case called `name` (throws if the file has none).
    func `case`(_ name: String) throws -> VectorCase {
        guard let c = cases.first(where: { $0.name == name }) else {
            throw TestVectorError("\(fileName) has no case '\(name)' (cases: \(caseNames.joined(separator: ", ")))")
        }
        return c
    }
}

/// One case of a vector file.
struct VectorCase {
    let fileName: String
    let name: String
    let json: VectorJSON
    let tolerance: VectorTolerance

    private func section(_ section: String) throws -> VectorJSON {
        guard let s = json[section] else { throw TestVectorError("\(fileName) / \(name): no '\(section)'") }
        return s
    }

    /// The raw JSON of `section.key` (e.g. ("params", "stride")).
    func raw(_ section: String, _ key: String) throws -> VectorJSON {
        guard let v = try self.section(section)[key] else {
            throw TestVectorError("\(fileName) / \(name): no '\(section).\(key)'")
        }
        return v
    }

    func tensor(_ section: String, _ key: String) throws -> VectorTensor {
        try VectorTensor(raw(section, key), what: "\(fileName) / \(name): \(section).\(key)")
    }

    func input(_ key: String) throws -> VectorTensor { try tensor("inputs", key) }
    func output(_ key: String) throws -> VectorTensor { try tensor("outputs", key) }
    func grad(_ key: String) throws -> VectorTensor { try tensor("grads", key) }
    func upstream(_ key: String) throws -> Tensor { try tensor("upstream_grad", key).tensor() }

    /// The integer labels of an int64 input.
    func intInput(_ key: String) throws -> [Int] {
        try input(key).ints("\(fileName) / \(name): inputs.\(key)")
    }

    func floatParam(_ key: String) throws -> Float {
        guard let f = try raw("params", key).floatValue else {
            throw TestVectorError("\(fileName) / \(name): params.\(key) is not a number")
        }
        return f
    }

    func intParam(_ key: String) throws -> Int {
        guard let k = try raw("params", key).intValue else {
            throw TestVectorError("\(fileName) / \(name): params.\(key) is not an integer")
        }
        return k
    }

    /// Keys of `section` (sorted), e.g. to check that every listed gradient is tested.
    func keys(_ section: String) -> [String] {
        (json[section]?.objectValue.map { Array($0.keys) } ?? []).sorted()
    }

    /// A label for messages: "file / case / what".
    func label(_ what: String) -> String { "\(fileName) / \(name) / \(what)" }
}

enum TestVectors {
    /// The vector directory, relative to the package root.
    static let relativePath = "Tests/Vectors/pytorch"

    /// The directory holding the reference vectors (throws a descriptive error if absent).
    static func directory(filePath: String = #filePath) throws -> URL {
        let fm = FileManager.default
        var dir = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        var root: URL?
        while dir.path != "/" {
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { root = dir; break }
            dir = dir.deletingLastPathComponent()
        }
        guard let root else {
            throw TestVectorError("No Package.swift above \(filePath): cannot locate the package root.")
        }
        let vectors = root.appendingPathComponent(relativePath, isDirectory: true).standardizedFileURL
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: vectors.path, isDirectory: &isDir), isDir.boolValue else {
            throw TestVectorError("""
                Reference test vectors not found: \(vectors.path) is missing. The vectors are part of \
                the package (\(relativePath)); restore that directory from the repository.
                """)
        }
        return vectors
    }

    /// Loads and parses one vector file.
    static func load(_ fileName: String) throws -> VectorFile {
        let url = try directory().appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestVectorError("Reference vector file missing: \(url.path)")
        }
        let json = try VectorJSONParser.parse(Data(contentsOf: url))
        guard let tol = json["tolerance"], let cases = json["cases"]?.arrayValue else {
            throw TestVectorError("\(fileName): no 'tolerance' or 'cases'")
        }
        guard let rtol = tol["rtol"]?.floatValue else { throw TestVectorError("\(fileName): malformed tolerance") }
        let tolerance = VectorTolerance(rtol: rtol, atol: tol["atol"]?.floatValue ?? 0)
        let parsed = try cases.map { c -> VectorCase in
            guard let name = c["name"]?.stringValue else { throw TestVectorError("\(fileName): a case has no name") }
            return VectorCase(fileName: fileName, name: name, json: c, tolerance: tolerance)
        }
        return VectorFile(fileName: fileName, json: json, tolerance: tolerance, cases: parsed)
    }

    /// Loads `fileName` and returns its case `name`.
    static func loadCase(_ fileName: String, _ name: String) throws -> VectorCase {
        try load(fileName).case(name)
    }

    static var reportEnabled: Bool { ProcessInfo.processInfo.environment["TESTVECTOR_REPORT"] != nil }
}

/// Namespace of the op compositions the vector suites build (CosineLinear, LUCIR's
/// margin ranking, PODNet pieces), kept apart from other test helpers.
enum VectorOps {}

// MARK: - Comparison

/// The outcome of one tensor comparison.
struct VectorComparison {
    /// Largest |actual − expected|.
    var maxAbsError: Float = 0
    /// Largest |actual − expected| / (atol + rtol·|expected|) (≤ 1 passes; 0 for exact matches).
    var worstRatio: Float = 0
    /// Number of failing elements.
    var failures = 0
    var passed: Bool { failures == 0 }
}

/// Compares `actual` with the reference element-wise under `tolerance`, records one
/// issue describing the failures (count, worst element), and returns the statistics.
/// A nil `actual` (a missing gradient) is a failure.
@discardableResult
func expectVectorClose(_ actual: Tensor?, _ expected: VectorTensor, _ tolerance: VectorTolerance, _ label: String,
                       sourceLocation: SourceLocation = #_sourceLocation) -> VectorComparison {
    guard let actual else {
        Issue.record("\(label): no tensor (a gradient that never arrived?), expected shape \(expected.shape)",
                     sourceLocation: sourceLocation)
        return VectorComparison(maxAbsError: .infinity, worstRatio: .infinity, failures: expected.count)
    }
    guard actual.shape == expected.shape else {
        Issue.record("\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        return VectorComparison(maxAbsError: .infinity, worstRatio: .infinity, failures: expected.count)
    }
    return expectVectorClose(actual.scalars, expected.values, shape: expected.shape, tolerance, label,
                       sourceLocation: sourceLocation)
}

/// Element-wise comparison of flat arrays (see `expectVectorClose(_:_:_:_:)`).
@discardableResult
func expectVectorClose(_ actual: [Float], _ expected: [Float], shape: [Int]? = nil, _ tolerance: VectorTolerance,
                       _ label: String, sourceLocation: SourceLocation = #_sourceLocation) -> VectorComparison {
    guard actual.count == expected.count else {
        Issue.record("\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return VectorComparison(maxAbsError: .infinity, worstRatio: .infinity, failures: expected.count)
    }
    var c = VectorComparison()
    var worstIndex = -1
    var firstBad = -1
    for k in 0..<expected.count {
        let a = actual[k], e = expected[k]
        let err = a.isNaN || e.isNaN ? Float.infinity : (a == e ? 0 : Swift.abs(a - e))
        let bound = tolerance.bound(e)
        let ratio: Float = err == 0 ? 0 : (bound > 0 ? err / bound : .infinity)
        if !(err <= bound) {
            c.failures += 1
            if firstBad < 0 { firstBad = k }
        }
        c.maxAbsError = Swift.max(c.maxAbsError, err)
        if worstIndex < 0 || ratio > c.worstRatio { c.worstRatio = ratio; worstIndex = k }
    }
    if TestVectors.reportEnabled {
        print("[testvector] \(label): max|err| \(c.maxAbsError), worst err/tol \(c.worstRatio) (\(tolerance))")
    }
    if c.failures > 0 {
        let w = worstIndex
        Issue.record("""
            \(label): \(c.failures) of \(expected.count) elements outside \(tolerance); worst at \
            \(vectorIndexDescription(w, shape)) actual \(actual[w]) expected \(expected[w]) \
            (|err| \(Swift.abs(actual[w] - expected[w])), \(c.worstRatio)× tolerance); first at \
            \(vectorIndexDescription(firstBad, shape)) actual \(actual[firstBad]) expected \(expected[firstBad])
            """, sourceLocation: sourceLocation)
    }
    return c
}

/// Bit-exact comparison of float32 values.
@discardableResult
func expectVectorBitEqual(_ actual: [Float], _ expected: [Float], _ label: String,
                          sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    let same = actual.count == expected.count
        && zip(actual, expected).allSatisfy { $0.bitPattern == $1.bitPattern }
    if TestVectors.reportEnabled {
        print("[testvector] \(label): bit-exact \(same)")
    }
    if !same {
        let show = { (v: [Float]) in v.map { "\($0) (0x\(String($0.bitPattern, radix: 16)))" }.joined(separator: ", ") }
        Issue.record("\(label): not bit-equal: actual [\(show(actual))], expected [\(show(expected))]",
                     sourceLocation: sourceLocation)
    }
    return same
}

/// "[i, j, ...]" for flat index `k` of `shape` (or "#k" without a shape).
func vectorIndexDescription(_ k: Int, _ shape: [Int]?) -> String {
    guard let shape, !shape.isEmpty, k >= 0 else { return "#\(k)" }
    var rest = k
    var idx = [Int](repeating: 0, count: shape.count)
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
        let n = Swift.max(shape[d], 1)
        idx[d] = rest % n
        rest /= n
    }
    return "[" + idx.map(String.init).joined(separator: ", ") + "]"
}

/// Checks that a case lists exactly the given keys in `section` (so that a reference
/// gradient or output is never silently left unchecked).
func expectVectorKeys(_ c: VectorCase, _ section: String, _ keys: [String],
                      sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(c.keys(section) == keys.sorted(), "\(c.label(section)): keys in the file vs keys tested",
            sourceLocation: sourceLocation)
}

/// Checks that a file holds exactly the cases a suite tests.
func expectVectorCaseNames(_ file: String, _ names: [String],
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
    let f = try TestVectors.load(file)
    #expect(f.caseNames == names, "\(file): cases in the file vs cases tested", sourceLocation: sourceLocation)
}
