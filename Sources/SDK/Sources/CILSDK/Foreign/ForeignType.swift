import CLibFFI

/// A C type a manifest may name in a function signature.
public enum ForeignType: String, Sendable, Codable, CaseIterable {
    case void, int32, int64, uint32, uint64, float, double, pointer

    /// The libffi type descriptor.
    var ffiType: UnsafeMutablePointer<ffi_type> {
        let code: Int32
        switch self {
        case .void: code = 0
        case .int32: code = 1
        case .int64: code = 2
        case .uint32: code = 3
        case .uint64: code = 4
        case .float: code = 5
        case .double: code = 6
        case .pointer: code = 7
        }
        return cil_ffi_type(code)
    }
}

/// A value passed to or returned from a foreign function.
public enum ForeignValue: Equatable, @unchecked Sendable {
    case void
    case int32(Int32)
    case int64(Int64)
    case uint32(UInt32)
    case uint64(UInt64)
    case float(Float)
    case double(Double)
    case pointer(UnsafeMutableRawPointer?)

    /// The type of this value.
    public var type: ForeignType {
        switch self {
        case .void: return .void
        case .int32: return .int32
        case .int64: return .int64
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .float: return .float
        case .double: return .double
        case .pointer: return .pointer
        }
    }
}
