// The one import a host or plugin needs: `import CILSDK`.
@_exported import CILEngine

/// Identity of this SDK build, checked by the host against every plugin.
public enum SDKInfo {
    /// The SDK's semantic version.
    public static let version = "0.1.0"
    /// The Swift compiler this SDK was built with.
    public static var compilerVersion: String {
        #if compiler(>=6.3)
        return "Swift 6.3+"
        #else
        return "Swift < 6.3"
        #endif
    }
}
