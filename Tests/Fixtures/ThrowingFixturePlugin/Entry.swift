import CILSDK

// A test fixture, not a plugin anyone should use: a Swift plugin built exactly like
// the built-in ones (same SDK, same compiler, so its build stamp is accepted) whose
// registration throws. PluginCommandTests copies the built library into a plugin
// directory as libCILPluginThrowing.so and expects the host to report
//   cil: plugin <path>: registration failed: plugin 'throwing-fixture': <reason>
// and to go on loading the other plugins.

/// The reason the registration gives (the tests compare it verbatim).
let throwingFixtureReason = "refuses to register on purpose (test fixture for a registration that throws)"

@_cdecl("cil_plugin_build_info")
public func cilPluginBuildInfo() -> UnsafeRawPointer {
    UnsafeRawPointer(cil_plugin_stamp())
}

@_cdecl("cil_plugin_register")
public func cilPluginRegister(_ registrar: UnsafeMutableRawPointer?, _ hostABI: UInt32) -> Int32 {
    PluginRegistrar.handle(registrar, hostABI: hostABI) { _ in
        throw PluginError.failed(plugin: "throwing-fixture", reason: throwingFixtureReason)
    }
}
