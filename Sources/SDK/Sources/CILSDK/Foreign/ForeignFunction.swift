import CLibFFI
import Foundation

/// A function in a plugin library, known only by the signature its manifest
/// declares, called through libffi (about 190 ns a call: keep it off per-element
/// paths).
public final class ForeignFunction: @unchecked Sendable {
    /// The name the manifest gives it.
    public let name: String
    /// The exported symbol.
    public let symbol: String
    public let returnType: ForeignType
    public let argumentTypes: [ForeignType]

    private let address: UnsafeMutableRawPointer
    private var cif = ffi_cif()
    private let argTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>

    /// Errors preparing or calling a foreign function.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Prepares a call interface for the function at `address`.
    public init(name: String, symbol: String, address: UnsafeMutableRawPointer,
                returnType: ForeignType, argumentTypes: [ForeignType]) throws {
        if argumentTypes.contains(.void) {
            throw Failure(description: "function '\(name)': 'void' is not an argument type")
        }
        self.name = name
        self.symbol = symbol
        self.address = address
        self.returnType = returnType
        self.argumentTypes = argumentTypes
        argTypes = .allocate(capacity: max(argumentTypes.count, 1))
        for (i, t) in argumentTypes.enumerated() { argTypes[i] = t.ffiType }
        let status = ffi_prep_cif(&cif, FFI_DEFAULT_ABI, UInt32(argumentTypes.count), returnType.ffiType,
                                  argumentTypes.isEmpty ? nil : argTypes)
        guard status == FFI_OK else {
            argTypes.deallocate()
            throw Failure(description: "function '\(name)': libffi could not prepare the call (status \(status.rawValue))")
        }
    }

    deinit { argTypes.deallocate() }

    /// The signature as written in a manifest, e.g. `double(pointer, int64)`.
    public var signature: String {
        "\(returnType.rawValue)(\(argumentTypes.map(\.rawValue).joined(separator: ", ")))"
    }

    /// Calls the function; the arguments must match the declared types exactly.
    public func call(_ arguments: [ForeignValue]) throws -> ForeignValue {
        guard arguments.map(\.type) == argumentTypes else {
            throw Failure(description: "function '\(name)' takes (\(argumentTypes.map(\.rawValue).joined(separator: ", "))), got (\(arguments.map(\.type.rawValue).joined(separator: ", ")))")
        }
        // Every argument gets its own 8-byte slot; libffi reads each through a pointer.
        let slots = UnsafeMutableRawPointer.allocate(byteCount: max(arguments.count, 1) * 8, alignment: 8)
        let pointers = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(arguments.count, 1))
        defer { slots.deallocate(); pointers.deallocate() }
        for (i, a) in arguments.enumerated() {
            let slot = slots + i * 8
            switch a {
            case .void: break
            case .int32(let v): slot.storeBytes(of: v, as: Int32.self)
            case .int64(let v): slot.storeBytes(of: v, as: Int64.self)
            case .uint32(let v): slot.storeBytes(of: v, as: UInt32.self)
            case .uint64(let v): slot.storeBytes(of: v, as: UInt64.self)
            case .float(let v): slot.storeBytes(of: v, as: Float.self)
            case .double(let v): slot.storeBytes(of: v, as: Double.self)
            case .pointer(let v): slot.storeBytes(of: v, as: UnsafeMutableRawPointer?.self)
            }
            pointers[i] = slot
        }
        // libffi widens integer results narrower than a register to ffi_arg.
        let result = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        defer { result.deallocate() }
        result.initializeMemory(as: UInt8.self, repeating: 0, count: 16)
        let fn = unsafeBitCast(address, to: (@convention(c) () -> Void).self)
        ffi_call(&cif, fn, result, arguments.isEmpty ? nil : pointers)
        switch returnType {
        case .void: return .void
        case .int32: return .int32(Int32(truncatingIfNeeded: result.load(as: Int64.self)))
        case .int64: return .int64(result.load(as: Int64.self))
        case .uint32: return .uint32(UInt32(truncatingIfNeeded: result.load(as: UInt64.self)))
        case .uint64: return .uint64(result.load(as: UInt64.self))
        case .float: return .float(result.load(as: Float.self))
        case .double: return .double(result.load(as: Double.self))
        case .pointer: return .pointer(result.load(as: UnsafeMutableRawPointer?.self))
        }
    }
}

/// The functions a C plugin's manifest declares (`cil_c_plugin.manifest_json`).
public struct ForeignManifest: Codable, Sendable, Equatable {
    /// One declared function.
    public struct Function: Codable, Sendable, Equatable {
        public var name: String
        public var symbol: String
        public var returns: ForeignType
        public var arguments: [ForeignType]
    }

    public var functions: [Function]

    /// Parses a manifest; errors name the plugin and say what is wrong.
    public static func parse(_ json: String, plugin: String) throws -> ForeignManifest {
        func fail(_ text: String) -> ForeignFunction.Failure { .init(description: "plugin '\(plugin)': \(text)") }
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
        }
        func invalid(_ keys: [any CodingKey]) -> ForeignFunction.Failure {
            let where_ = path(keys)
            let isType = ["returns", "arguments"].contains { where_.hasSuffix($0) || where_.contains("\($0)[") }
            let types = isType ? "; types are \(ForeignType.allCases.map(\.rawValue).joined(separator: ", "))" : ""
            return fail("manifest value at '\(where_)' is invalid\(types)")
        }
        do {
            return try JSONDecoder().decode(ForeignManifest.self, from: Data(json.utf8))
        } catch let DecodingError.dataCorrupted(context) {
            // An empty path is a syntax error; a path is a value of the wrong kind
            // (e.g. an unknown type name).
            if context.codingPath.isEmpty { throw fail("manifest is not valid JSON (\(context.debugDescription))") }
            throw invalid(context.codingPath)
        } catch let DecodingError.keyNotFound(key, _) {
            throw fail("manifest lacks the key '\(key.stringValue)'")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw invalid(context.codingPath)
        } catch {
            throw fail("manifest unreadable: \(error)")
        }
    }
}
