/// What a plugin's `cil_plugin_register` entry point fills: the baselines and branch
/// types the library provides. The host creates one registrar per library and
/// passes it as an opaque pointer.
///
/// A Swift plugin's two entry points, exactly:
/// ```swift
/// @_cdecl("cil_plugin_build_info")
/// public func cilPluginBuildInfo() -> UnsafeRawPointer { UnsafeRawPointer(cil_plugin_stamp()) }
///
/// @_cdecl("cil_plugin_register")
/// public func cilPluginRegister(_ registrar: UnsafeMutableRawPointer?, _ hostABI: UInt32) -> Int32 {
///     PluginRegistrar.handle(registrar, hostABI: hostABI) { try $0.register(baseline: MyBaseline.self) }
/// }
/// ```
public final class PluginRegistrar {
    public private(set) var baselines: [any Baseline.Type] = []
    public private(set) var branchTypes: [any BranchType.Type] = []
    /// Why registration failed (set by `handle` when the plugin's closure throws).
    public private(set) var failure: String?

    public init() {}

    /// Registers a baseline type. Its `info.name` must be a valid name.
    public func register(baseline: any Baseline.Type) throws {
        try Self.checkName(baseline.info.name)
        baselines.append(baseline)
    }

    /// Registers a branch type.
    public func register(branchType: any BranchType.Type) throws {
        try Self.checkName(branchType.info.name)
        branchTypes.append(branchType)
    }

    /// Names are what users type: lowercase letters, digits, '-' and '_'.
    static func checkName(_ name: String) throws {
        let ok = !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
        if !ok {
            throw PluginError.failed(plugin: name, reason: "invalid plugin name '\(name)': use lowercase letters, digits, '-' and '_'")
        }
    }

    /// Status codes returned by `cil_plugin_register`.
    public enum Status: Int32 {
        case ok = 0
        case registrationThrew = 1
        case abiMismatch = 2
        case noRegistrar = 3
    }

    /// Runs a plugin's registration against the registrar behind `pointer`; a thrown
    /// error becomes `failure` and a non-zero status instead of a crash.
    public static func handle(_ pointer: UnsafeMutableRawPointer?, hostABI: UInt32,
                              _ body: (PluginRegistrar) throws -> Void) -> Int32 {
        guard let pointer else { return Status.noRegistrar.rawValue }
        let registrar = Unmanaged<PluginRegistrar>.fromOpaque(pointer).takeUnretainedValue()
        guard hostABI == SDKInfo.abiVersion else {
            registrar.failure = "plugin speaks ABI \(SDKInfo.abiVersion), host \(hostABI)"
            return Status.abiMismatch.rawValue
        }
        do {
            try body(registrar)
            return Status.ok.rawValue
        } catch {
            registrar.failure = String(describing: error)
            return Status.registrationThrew.rawValue
        }
    }
}
