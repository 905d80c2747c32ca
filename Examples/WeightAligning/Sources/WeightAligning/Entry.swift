import CILSDK

// The library's two C entry points (see cil_plugin.h): the build stamp the host
// checks first, then the registration.

@_cdecl("cil_plugin_build_info")
public func cilPluginBuildInfo() -> UnsafeRawPointer {
    UnsafeRawPointer(cil_plugin_stamp())
}

@_cdecl("cil_plugin_register")
public func cilPluginRegister(_ registrar: UnsafeMutableRawPointer?, _ hostABI: UInt32) -> Int32 {
    PluginRegistrar.handle(registrar, hostABI: hostABI) { try $0.register(baseline: WeightAligning.self) }
}
