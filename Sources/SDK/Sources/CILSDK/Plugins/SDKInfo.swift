import CILPluginABI

/// Identity of this SDK build; the host checks every plugin against it.
public enum SDKInfo {
    /// The SDK's version (the `CIL_SDK_VERSION` of `cil_plugin.h`).
    public static let version = CIL_SDK_VERSION
    /// The plugin ABI version (`CIL_PLUGIN_ABI_VERSION`).
    public static let abiVersion = UInt32(CIL_PLUGIN_ABI_VERSION)
    /// The build stamp of the SDK library itself (ABI, SDK version, compiler).
    public static var stamp: PluginBuildStamp { PluginBuildStamp(cil_plugin_stamp().pointee) }
    /// The compiler (toolchain) the SDK was built with.
    public static var compilerVersion: String { stamp.toolchain }
}

/// What a plugin (or the SDK) was built with, read from `cil_plugin_build_info`.
public struct PluginBuildStamp: Equatable, Sendable, Codable {
    public var abiVersion: UInt32
    public var structSize: UInt32
    public var sdkVersion: String
    public var toolchain: String

    public init(abiVersion: UInt32, structSize: UInt32, sdkVersion: String, toolchain: String) {
        self.abiVersion = abiVersion
        self.structSize = structSize
        self.sdkVersion = sdkVersion
        self.toolchain = toolchain
    }

    public init(_ info: cil_build_stamp) {
        abiVersion = info.abi_version
        structSize = info.struct_size
        sdkVersion = info.sdk_version.map { String(cString: $0) } ?? ""
        toolchain = info.toolchain.map { String(cString: $0) } ?? ""
    }

    /// Why a plugin with this stamp cannot run in a host whose SDK has `host`'s
    /// stamp, or nil if it can. ABI first (nothing else is readable if it differs).
    public func incompatibility(with host: PluginBuildStamp) -> String? {
        if abiVersion != host.abiVersion {
            return "built for plugin ABI \(abiVersion), this host speaks ABI \(host.abiVersion)"
        }
        if structSize != host.structSize {
            return "its build-info record has \(structSize) bytes, expected \(host.structSize)"
        }
        if sdkVersion != host.sdkVersion {
            return "built against SDK \(sdkVersion), this host runs SDK \(host.sdkVersion): rebuild the plugin against this SDK"
        }
        if toolchain != host.toolchain {
            return "built by another Swift compiler (\(toolchain)); this host's SDK was built by \(host.toolchain): Swift has no stable ABI on Linux, rebuild the plugin with the same toolchain"
        }
        return nil
    }
}
