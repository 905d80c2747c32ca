import CILSDK

// A test fixture, not a plugin anyone should use: a Swift baseline built like the
// built-in ones whose loss crashes the process in a chosen phase. CompareCommandTests
// copies it into a plugin directory as libCILPluginCrashing.so and expects the
// comparison to report the arm as failed, naming this plugin, and to finish the rest.

@_cdecl("cil_plugin_build_info")
public func cilPluginBuildInfo() -> UnsafeRawPointer {
    UnsafeRawPointer(cil_plugin_stamp())
}

@_cdecl("cil_plugin_register")
public func cilPluginRegister(_ registrar: UnsafeMutableRawPointer?, _ hostABI: UInt32) -> Int32 {
    PluginRegistrar.handle(registrar, hostABI: hostABI) { try $0.register(baseline: CrashingBaseline.self) }
}
