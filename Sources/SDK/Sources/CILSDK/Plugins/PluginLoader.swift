import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Finds and loads plugin libraries. A library is loaded at most once per process
/// and never unloaded (unloading a Swift library crashes later dynamic casts).
///
/// Search order: the directory of the `cil` binary, then every `--plugin-dir`, then
/// every directory of `CIL_PLUGIN_PATH` (colon-separated). In a directory, the
/// plugins are the files named `libCILPlugin*.so`.
public enum PluginLoader {
    public static let filePrefix = "libCILPlugin"
    public static let fileSuffix = ".so"

    /// The directory holding the running executable (the `cil` binary).
    public static var executableDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }

    /// The directories to scan, in order, without repeats.
    public static func searchDirectories(pluginDirs: [String], environment: [String: String]) -> [String] {
        var dirs = [executableDirectory] + pluginDirs
        if let path = environment["CIL_PLUGIN_PATH"] {
            dirs += path.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert(($0 as NSString).standardizingPath).inserted }
    }

    /// Loads every plugin in the search directories. Never throws: problems become
    /// failures in the catalog, one per library (or missing directory).
    public static func loadAll(pluginDirs: [String] = [],
                        environment: [String: String] = ProcessInfo.processInfo.environment) -> PluginCatalog {
        var catalog = PluginCatalog()
        for dir in searchDirectories(pluginDirs: pluginDirs, environment: environment) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                catalog.recordFailure(dir, "plugin directory does not exist")
                continue
            }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
                .filter { $0.hasPrefix(filePrefix) && $0.hasSuffix(fileSuffix) }
                .sorted()
            for name in names {
                load(file: (dir as NSString).appendingPathComponent(name), into: &catalog)
            }
        }
        return catalog
    }

    /// Loads one library into the catalog, or records why it cannot be used.
    public static func load(file path: String, into catalog: inout PluginCatalog) {
        let resolved = (path as NSString).resolvingSymlinksInPath
        guard catalog.loadedFiles.insert(resolved).inserted else { return }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown error"
            var reason = "cannot be loaded as a shared library: \(message)"
            if message.contains("undefined symbol") {
                reason += " (was it built against another version of the SDK?)"
            }
            catalog.recordFailure(path, reason)
            return
        }
        if let infoSymbol = dlsym(handle, "cil_plugin_build_info") {
            loadSwiftPlugin(path: path, handle: handle, infoSymbol: infoSymbol, into: &catalog)
        } else if let entrySymbol = dlsym(handle, "cil_c_plugin_entry") {
            loadCPlugin(path: path, handle: handle, entrySymbol: entrySymbol, into: &catalog)
        } else {
            catalog.recordFailure(path, "no plugin entry point: exports neither cil_plugin_build_info + cil_plugin_register (a Swift plugin) nor cil_c_plugin_entry (a C plugin); see cil_plugin.h")
        }
    }

    private static func loadSwiftPlugin(path: String, handle: UnsafeMutableRawPointer, infoSymbol: UnsafeMutableRawPointer,
                                        into catalog: inout PluginCatalog) {
        let infoFunction = unsafeBitCast(infoSymbol, to: cil_plugin_build_info_fn.self)
        guard let infoPointer = infoFunction() else {
            catalog.recordFailure(path, "cil_plugin_build_info returned no build information")
            return
        }
        // The ABI version is the first field of every version of the record: read it
        // alone before trusting the rest of the layout.
        let abi = UnsafeRawPointer(infoPointer).load(as: UInt32.self)
        let host = SDKInfo.stamp
        if abi != host.abiVersion {
            catalog.recordFailure(path, "built for plugin ABI \(abi), this host speaks ABI \(host.abiVersion)")
            return
        }
        let stamp = PluginBuildStamp(infoPointer.pointee)
        if let why = stamp.incompatibility(with: host) {
            catalog.recordFailure(path, why)
            return
        }
        guard let registerSymbol = dlsym(handle, "cil_plugin_register") else {
            catalog.recordFailure(path, "exports cil_plugin_build_info but not cil_plugin_register")
            return
        }
        let register = unsafeBitCast(registerSymbol, to: cil_plugin_register_fn.self)
        let registrar = PluginRegistrar()
        let status = withExtendedLifetime(registrar) {
            register(Unmanaged.passUnretained(registrar).toOpaque(), host.abiVersion)
        }
        guard status == PluginRegistrar.Status.ok.rawValue else {
            let detail = registrar.failure ?? "status \(status)"
            catalog.recordFailure(path, "registration failed: \(detail)")
            return
        }
        var entries: [PluginEntry] = []
        for t in registrar.baselines {
            entries.append(PluginEntry(kind: .baseline, info: t.info, options: t.options, path: path, provider: .baseline(t)))
        }
        for t in registrar.branchTypes {
            entries.append(PluginEntry(kind: .branchType, info: t.info, options: t.options, path: path, provider: .branchType(t)))
        }
        if entries.isEmpty {
            catalog.recordFailure(path, "registered no baseline and no branch type")
            return
        }
        _ = catalog.add(entries, from: path)
    }

    private static func loadCPlugin(path: String, handle: UnsafeMutableRawPointer, entrySymbol: UnsafeMutableRawPointer,
                                    into catalog: inout PluginCatalog) {
        let entry = unsafeBitCast(entrySymbol, to: cil_c_plugin_entry_fn.self)
        guard let descriptor = entry(SDKInfo.abiVersion) else {
            catalog.recordFailure(path, "cil_c_plugin_entry returned NULL (the plugin refused ABI \(SDKInfo.abiVersion))")
            return
        }
        // As for Swift plugins: the ABI version first, before the rest of the struct.
        let abi = UnsafeRawPointer(descriptor).load(as: UInt32.self)
        guard abi == SDKInfo.abiVersion else {
            catalog.recordFailure(path, "C plugin built for plugin ABI \(abi), this host speaks ABI \(SDKInfo.abiVersion)")
            return
        }
        do {
            let plugin = try CPlugin(descriptor: descriptor, handle: handle, path: path)
            let entry = PluginEntry(kind: plugin.kind, info: plugin.info, options: [], path: path, provider: .c(plugin))
            _ = catalog.add([entry], from: path)
        } catch {
            catalog.recordFailure(path, String(describing: error))
        }
    }
}
