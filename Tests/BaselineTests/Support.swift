// Shared support of the baseline tests: the built plugin libraries (loaded through
// the SDK's PluginLoader, as the host loads them), the PyTorch reference vectors of
// Tests/Vectors/pytorch, and helpers for direct float64 computations (values and
// central-difference gradients) and tolerance checks.

import CILSDK
import Foundation
import Testing

struct BaselineTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Built plugin libraries

enum BuiltPlugins {
    /// The package root: the first directory above this file holding Package.swift.
    static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        preconditionFailure("no Package.swift above \(#filePath)")
    }()

    /// The build directory holding the plugin libraries: the test executable's
    /// directory (or its parent, when run from inside an .xctest bundle), else
    /// `<package root>/.build/release`.
    static func directory(holding file: String) throws -> URL {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [exe, exe.deletingLastPathComponent(),
                          packageRoot.appendingPathComponent(".build/release", isDirectory: true)]
        for dir in candidates where FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path) {
            return dir.resolvingSymlinksInPath()
        }
        throw BaselineTestError("""
            \(file) not found in \(candidates.map(\.path).joined(separator: ", ")): \
            build with `swift build -c release --build-tests`
            """)
    }

    /// The catalog of `libCILPlugin<target>.so` alone, loaded through
    /// `PluginLoader.load(file:into:)` as the host loads it, and the file's path.
    static func catalog(library target: String) throws -> (catalog: PluginCatalog, path: String) {
        let file = "libCILPlugin\(target).so"
        let path = try directory(holding: file).appendingPathComponent(file).path
        var catalog = PluginCatalog()
        PluginLoader.load(file: path, into: &catalog)
        guard catalog.failures.isEmpty else {
            throw BaselineTestError("loading \(path): \(catalog.failures.map(\.description).joined(separator: "; "))")
        }
        return (catalog, path)
    }

    /// Loads `libCILPlugin<target>.so` and returns the baseline it registers under `name`.
    static func baseline(_ name: String, library target: String) throws -> any Baseline.Type {
        let (catalog, path) = try catalog(library: target)
        let entries = catalog.entries(of: .baseline)
        guard entries.count == 1, entries[0].path == path else {
            throw BaselineTestError("\(path) registered \(entries.map(\.info.name)) (expected exactly '\(name)')")
        }
        return try catalog.baseline(named: name)
    }

    static func lucir() throws -> any Baseline.Type { try baseline("lucir", library: "LUCIR") }
    static func icarl() throws -> any Baseline.Type { try baseline("icarl", library: "ICaRL") }
    static func podnet() throws -> any Baseline.Type { try baseline("podnet", library: "PODNet") }
}

/// A setting as a run would give it.
func runSetting(dataset: String = "cifar100", mode: FidelityMode = .faithful, classesPerPhase: [Int] = [4, 2, 2])
    -> RunSetting {
    RunSetting(dataset: dataset, classesPerPhase: classesPerPhase, mode: mode, seed: 7)
}

/// A baseline instance of the loaded type `type`, with the given options checked as
/// the host checks them.
func instantiate(_ type: any Baseline.Type, options given: [String: String] = [:],
                 setting: RunSetting = runSetting()) throws -> any Baseline {
    let options = try PluginOptions(plugin: type.info.name, specs: type.options, given: given)
    return try type.init(options: options, setting: setting)
}

// MARK: - Reference vectors (numbers kept as text, parsed as Float)

enum RefJSON {
    case null, bool(Bool), number(String), string(String), array([RefJSON]), object([String: RefJSON])

    subscript(key: String) -> RefJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var array: [RefJSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var float: Float? {
        if case .number(let t) = self { return Float(t) }
        return nil
    }

    var int: Int? {
        if case .number(let t) = self { return Int(t) ?? Double(t).flatMap { $0 == $0.rounded() ? Int($0) : nil } }
        return nil
    }

    static func parse(_ data: Data) throws -> RefJSON {
        var p = Parser(bytes: [UInt8](data))
        let v = try p.value()
        p.skip()
        guard p.i == p.bytes.count else { throw BaselineTestError("JSON: trailing characters at \(p.i)") }
        return v
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0

        mutating func skip() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }

        func fail(_ what: String) -> BaselineTestError { BaselineTestError("JSON: \(what) at byte \(i)") }

        mutating func literal(_ s: String, _ v: RefJSON) throws -> RefJSON {
            for b in s.utf8 {
                guard i < bytes.count, bytes[i] == b else { throw fail("expected \(s)") }
                i += 1
            }
            return v
        }

        mutating func value() throws -> RefJSON {
            skip()
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var o: [String: RefJSON] = [:]
                skip()
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                while true {
                    skip()
                    guard case .string(let key) = try value() else { throw fail("expected a key") }
                    skip()
                    guard bytes[i] == UInt8(ascii: ":") else { throw fail("expected :") }
                    i += 1
                    o[key] = try value()
                    skip()
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    guard bytes[i] == UInt8(ascii: "}") else { throw fail("expected , or }") }
                    i += 1
                    return .object(o)
                }
            case UInt8(ascii: "["):
                i += 1
                var a: [RefJSON] = []
                skip()
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                while true {
                    a.append(try value())
                    skip()
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    guard bytes[i] == UInt8(ascii: "]") else { throw fail("expected , or ]") }
                    i += 1
                    return .array(a)
                }
            case UInt8(ascii: "\""):
                i += 1
                var out: [UInt8] = []
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") {
                        i += 1
                        guard i < bytes.count else { throw fail("bad escape") }
                        switch bytes[i] {
                        case UInt8(ascii: "n"): out.append(0x0A)
                        case UInt8(ascii: "t"): out.append(0x09)
                        case UInt8(ascii: "r"): out.append(0x0D)
                        case UInt8(ascii: "b"): out.append(0x08)
                        case UInt8(ascii: "f"): out.append(0x0C)
                        case UInt8(ascii: "u"):
                            guard i + 4 < bytes.count,
                                  let code = UInt32(String(decoding: bytes[(i + 1)...(i + 4)], as: UTF8.self), radix: 16)
                            else { throw fail("bad \\u escape") }
                            i += 4
                            out.append(contentsOf: Array(String(Character(Unicode.Scalar(code) ?? "?")).utf8))
                        default: out.append(bytes[i])
                        }
                    } else {
                        out.append(bytes[i])
                    }
                    i += 1
                }
                guard i < bytes.count else { throw fail("unterminated string") }
                i += 1
                return .string(String(decoding: out, as: UTF8.self))
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            default:
                let start = i
                while i < bytes.count, "0123456789+-.eE".utf8.contains(bytes[i]) { i += 1 }
                guard i > start else { throw fail("unexpected character") }
                return .number(String(decoding: bytes[start..<i], as: UTF8.self))
            }
        }
    }
}

/// A tensor of a vector file.
struct RefTensor {
    let shape: [Int]
    let values: [Float]

    var ints: [Int] { values.map { Int($0) } }
    var scalar: Float { values[0] }
    var doubles: [Double] { values.map(Double.init) }

    func tensor(requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, values, requiresGrad: requiresGrad)
    }
}

/// One case of a vector file.
struct RefCase {
    let file: String
    let name: String
    let json: RefJSON
    let rtol: Float
    let atol: Float

    func tensor(_ section: String, _ key: String) throws -> RefTensor {
        guard let t = json[section]?[key], let shape = t["shape"]?.array?.compactMap(\.int),
              let data = t["data"]?.array?.compactMap(\.float),
              data.count == Tensor.elementCount(shape) else {
            throw BaselineTestError("\(file) / \(name): no tensor \(section).\(key)")
        }
        return RefTensor(shape: shape, values: data)
    }

    func input(_ key: String) throws -> RefTensor { try tensor("inputs", key) }
    func output(_ key: String) throws -> RefTensor { try tensor("outputs", key) }
    func grad(_ key: String) throws -> RefTensor { try tensor("grads", key) }
    func upstream(_ key: String) throws -> RefTensor { try tensor("upstream_grad", key) }

    func param(_ key: String) throws -> Float {
        guard let v = json["params"]?[key]?.float else { throw BaselineTestError("\(file) / \(name): no params.\(key)") }
        return v
    }

    func label(_ what: String) -> String { "\(file) / \(name) / \(what)" }
}

enum RefVectors {
    /// Tests/Vectors/pytorch under the package root (part of the package; its README
    /// says what each file holds). Throws an error naming the path if it is missing.
    static func directory() throws -> URL {
        let vectors = BuiltPlugins.packageRoot.appendingPathComponent("Tests/Vectors/pytorch", isDirectory: true)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: vectors.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BaselineTestError("reference vectors not found: \(vectors.path) is missing (the vectors are part of the package)")
        }
        return vectors
    }

    static func load(_ file: String, _ caseName: String) throws -> RefCase {
        let url = try directory().appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw BaselineTestError("reference vector file missing: \(url.path)")
        }
        let json = try RefJSON.parse(try Data(contentsOf: url))
        guard let rtol = json["tolerance"]?["rtol"]?.float, let atol = json["tolerance"]?["atol"]?.float else {
            throw BaselineTestError("\(file): no tolerance")
        }
        guard let c = json["cases"]?.array?.first(where: {
            if case .string(let n)? = $0["name"] { return n == caseName }
            return false
        }) else { throw BaselineTestError("\(file): no case '\(caseName)'") }
        return RefCase(file: file, name: caseName, json: c, rtol: rtol, atol: atol)
    }
}

// MARK: - Comparisons

/// |actual − expected| ≤ atol + rtol·|expected| element-wise (and equal counts).
func expectClose(_ actual: [Float], _ expected: [Float], rtol: Float, atol: Float, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.count == expected.count else {
        Issue.record("\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = -1, worstRatio: Float = 0
    for k in actual.indices {
        let bound = atol + rtol * abs(expected[k])
        let err = abs(actual[k] - expected[k])
        let ratio = err.isNaN ? .infinity : err / bound
        if ratio > worstRatio { worstRatio = ratio; worst = k }
    }
    if worstRatio > 1 {
        Issue.record("""
            \(label): worst at #\(worst): actual \(actual[worst]) expected \(expected[worst]) \
            (\(worstRatio)× the tolerance rtol \(rtol) atol \(atol))
            """, sourceLocation: sourceLocation)
    }
}

func expectClose(_ actual: Tensor?, _ expected: [Float], rtol: Float, atol: Float, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("\(label): no tensor (no gradient arrived)", sourceLocation: sourceLocation)
        return
    }
    expectClose(actual.scalars, expected, rtol: rtol, atol: atol, label, sourceLocation: sourceLocation)
}

func expectClose(_ actual: Tensor?, _ expected: [Double], rtol: Float = 1e-4, atol: Float = 1e-5, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(actual, expected.map { Float($0) }, rtol: rtol, atol: atol, label, sourceLocation: sourceLocation)
}

func expectClose(_ actual: Float?, _ expected: Double, rtol: Float = 1e-4, atol: Float = 1e-5, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("\(label): missing", sourceLocation: sourceLocation)
        return
    }
    expectClose([actual], [Float(expected)], rtol: rtol, atol: atol, label, sourceLocation: sourceLocation)
}

// MARK: - Direct float64 computations

enum Ref {
    /// Central-difference gradient of `f` at `x` (float64; the reference functions are
    /// smooth at the test points, away from hinge and max kinks).
    static func gradient(_ x: [Double], _ f: ([Double]) -> Double) -> [Double] {
        var g = [Double](repeating: 0, count: x.count)
        var y = x
        for i in x.indices {
            let h = 1e-6 * max(1, abs(x[i]))
            y[i] = x[i] + h
            let up = f(y)
            y[i] = x[i] - h
            let down = f(y)
            y[i] = x[i]
            g[i] = (up - down) / (2 * h)
        }
        return g
    }

    /// Row r of a row-major [rows, cols] array.
    static func row(_ a: [Double], _ r: Int, _ cols: Int) -> ArraySlice<Double> { a[(r * cols)..<((r + 1) * cols)] }

    static func logSumExp<C: Collection>(_ v: C) -> Double where C.Element == Double {
        let m = v.max()!
        return m + Foundation.log(v.reduce(0) { $0 + Foundation.exp($1 - m) })
    }

    /// Softmax cross-entropy, mean over the batch, of logits [B, C].
    static func crossEntropy(_ logits: [Double], _ targets: [Int], classes c: Int) -> Double {
        var total = 0.0
        for (b, y) in targets.enumerated() {
            let r = row(logits, b, c)
            total += logSumExp(r) - r[r.startIndex + y]
        }
        return total / Double(targets.count)
    }

    static func norm<C: Collection>(_ v: C) -> Double where C.Element == Double {
        v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    }

    static func dot<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double where A.Element == Double, B.Element == Double {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// v / max(‖v‖, 1e-12).
    static func normalized<C: Collection>(_ v: C) -> [Double] where C.Element == Double {
        let n = max(norm(v), 1e-12)
        return v.map { $0 / n }
    }

    /// PyTorch's CosineEmbeddingLoss with target 1: mean_b (1 − ⟨a,b⟩/√((‖a‖²+1e-12)(‖b‖²+1e-12))).
    static func cosineEmbedding(_ a: [Double], _ b: [Double], dimension d: Int) -> Double {
        let rows = a.count / d
        var total = 0.0
        for r in 0..<rows {
            let x = row(a, r, d), y = row(b, r, d)
            let cos = dot(x, y) / ((dot(x, x) + 1e-12) * (dot(y, y) + 1e-12)).squareRoot()
            total += 1 - cos
        }
        return total / Double(rows)
    }

    static func sigmoid(_ z: Double) -> Double { 1 / (1 + Foundation.exp(-z)) }
}

/// A deterministic pseudo-random array in [lo, hi).
func randomValues(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    return (0..<count).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * rng.nextUnitFloat() }
}

/// Writes `values` into a tensor's memory (e.g. a head's `private(set)` weights).
func overwrite(_ tensor: Tensor, with values: [Float]) {
    precondition(values.count == tensor.count, "overwrite: \(values.count) values into \(tensor.shape)")
    tensor.withUnsafeMutableBufferPointer { p in for i in values.indices { p[i] = values[i] } }
}
