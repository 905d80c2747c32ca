import Foundation
import Testing

/// `cil plugins` run as a user runs it: the real `cil` binary loading the real built
/// plugin libraries (libCILPlugin*.so next to it), plus libraries the tests put in
/// directories of their own (C fixtures compiled from Fixtures/, the Swift fixture
/// libCILTestFixtureThrowing.so, copies of built plugins). Every library that cannot
/// be used gives exactly one line `cil: plugin <path>: <reason>` on stderr, the good
/// plugins are still listed, and the exit status is 1.
@Suite("cil plugins")
struct PluginCommandTests {
    // MARK: - The built-in plugins

    /// The built-in plugins: name, kind, library file.
    static let builtIns: [(name: String, kind: String, file: String)] = [
        ("icarl", "baseline", "libCILPluginICaRL.so"),
        ("lucir", "baseline", "libCILPluginLUCIR.so"),
        ("podnet", "baseline", "libCILPluginPODNet.so"),
        ("fixed", "branch type", "libCILPluginFixed.so"),
        ("free", "branch type", "libCILPluginFree.so"),
        ("ss", "branch type", "libCILPluginScaleShift.so"),
    ]

    /// `cil plugins` with no plugin path from the environment of whoever runs the tests.
    static func plugins(_ arguments: [String] = [], pluginPath: String? = nil) throws -> CommandRunner.Output {
        try CommandRunner.run(["plugins"] + arguments, environment: ["CIL_PLUGIN_PATH": pluginPath])
    }

    /// `cil plugins --json` output as an array of objects.
    static func jsonArray(_ output: CommandRunner.Output) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        guard let array = object as? [[String: Any]] else {
            throw PluginFixtures.Failure(description: "not a JSON array of objects: \(output.stdout)")
        }
        return array
    }

    /// The (kind, name) pairs of the table `cil plugins` prints, in order.
    static func listed(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") && $0.count > 13 }.map { line in
            let kind = line.prefix(12).trimmingCharacters(in: .whitespaces)
            let name = line.dropFirst(13).prefix { $0 != " " }
            return "\(kind)/\(name)"
        }
    }

    static var builtInListing: [String] { builtIns.map { "\($0.kind)/\($0.name)" } }

    /// The lines of stderr.
    static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    /// The compiler that built the host's SDK, as `cil --version` reports it:
    /// "cil X (SDK V, TOOLCHAIN); BLAS core: ...".
    static func hostToolchain() throws -> String {
        let out = try CommandRunner.run(["--version"])
        let text = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let start = text.range(of: ", "), let end = text.range(of: "); BLAS core:", options: .backwards),
              start.upperBound <= end.lowerBound else {
            throw PluginFixtures.Failure(description: "unexpected `cil --version`: \(text)")
        }
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test func listsTheSixBuiltInPluginsFromTheirLibraries() throws {
        let out = try Self.plugins(["--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.isEmpty)
        let entries = try Self.jsonArray(out)
        // Baselines first, then branch types, each sorted by name.
        #expect(entries.map { "\($0["kind"] as? String ?? "?")/\($0["name"] as? String ?? "?")" }
            == Self.builtInListing)
        for (name, _, file) in Self.builtIns {
            guard let entry = entries.first(where: { $0["name"] as? String == name }) else { continue }
            // Loaded from the real library next to the binary, not registered in-process.
            let expectedPath = PluginFixtures.buildDirectory.appendingPathComponent(file).path
            #expect(entry["path"] as? String == expectedPath)
            #expect(FileManager.default.fileExists(atPath: expectedPath))
            #expect(Set(entry.keys).isSuperset(of: ["name", "kind", "version", "path", "summary", "options"]))
            #expect(!(entry["version"] as? String ?? "").isEmpty)
            #expect(entry["functions"] == nil, "only C plugins have manifest functions")
            guard let options = entry["options"] as? [[String: Any]] else {
                Issue.record("\(name): options is not an array of objects")
                continue
            }
            for option in options {
                #expect(Set(option.keys).isSuperset(of: ["name", "type", "default", "help"]), "\(name): \(option)")
            }
        }
        // One option in full, as declared by the iCaRL plugin.
        let icarl = entries.first { $0["name"] as? String == "icarl" }
        let variant = (icarl?["options"] as? [[String: Any]])?.first { $0["name"] as? String == "variant" }
        #expect(variant?["type"] as? String == "choice")
        #expect(variant?["default"] as? String == "manets")
        #expect(variant?["choices"] as? [String] == ["manets", "classic"])
    }

    @Test func tableNamesKindNameVersionAndFile() throws {
        let out = try Self.plugins()
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.isEmpty)
        #expect(Self.listed(out.stdout) == Self.builtInListing)
        for (name, kind, file) in Self.builtIns {
            let header = "\(kind.padding(toLength: 12, withPad: " ", startingAt: 0)) \(name) "
            #expect(out.stdout.contains("\n\(header)") || out.stdout.hasPrefix(header), "no line \(header)")
            let path = PluginFixtures.buildDirectory.appendingPathComponent(file).path
            #expect(out.stdout.contains("             file: \(path)\n") || out.stdout.hasSuffix("file: \(path)"))
        }
        #expect(out.stdout.contains("option variant=manets (choice {manets|classic}): "))
    }

    // MARK: - Libraries that cannot be used: one exact line each

    /// A library (or two) that the host must refuse, with the exact reason.
    enum Broken: String, CaseIterable, CustomTestStringConvertible {
        case notASharedLibrary, noEntryPoint, undefinedSymbol
        case abiMismatch, sdkMismatch, otherCompiler, registrationThrows, duplicateBuiltInName
        case cPluginABIMismatch, cPluginRefusesTheHost, cPluginManifestNamesAMissingSymbol
        case cPluginInvalidName, duplicateCPluginName

        var testDescription: String { rawValue }

        /// Puts the library into `dir`; returns the failing file and the reason.
        func install(in dir: TemporaryDirectory) throws -> (file: String, reason: String) {
            func compile(_ source: String, _ name: String, _ defines: [String] = []) throws -> String {
                try PluginFixtures.compile(source, to: dir.file(name), defines: defines)
                return dir.path(name)
            }
            switch self {
            case .notASharedLibrary:
                let path = dir.path("libCILPluginNotALibrary.so")
                try Data(String(repeating: "this is a text file, not an ELF shared library\n", count: 8).utf8)
                    .write(to: URL(fileURLWithPath: path))
                return (path, "cannot be loaded as a shared library: \(path): invalid ELF header")
            case .noEntryPoint:
                return (try compile("no_entry.c", "libCILPluginNoEntry.so"),
                        "no plugin entry point: exports neither cil_plugin_build_info + cil_plugin_register (a Swift plugin) nor cil_c_plugin_entry (a C plugin); see cil_plugin.h")
            case .undefinedSymbol:
                let path = try compile("undefined_symbol.c", "libCILPluginUndefined.so")
                return (path, "cannot be loaded as a shared library: \(path): undefined symbol: cil_sdk_function_from_another_version (was it built against another version of the SDK?)")
            case .abiMismatch:
                return (try compile("bad_abi.c", "libCILPluginBadABI.so"), "built for plugin ABI 99, this host speaks ABI 1")
            case .sdkMismatch:
                return (try compile("bad_sdk.c", "libCILPluginBadSDK.so"),
                        "built against SDK 0.0.9, this host runs SDK 0.5.0: rebuild the plugin against this SDK")
            case .otherCompiler:
                let host = try PluginCommandTests.hostToolchain()
                let other = "17.0.0 (https://github.com/swiftlang/llvm-project.git 0123456789abcdef0123456789abcdef01234567)"
                return (try compile("other_compiler.c", "libCILPluginOtherCompiler.so"),
                        "built by another Swift compiler (\(other)); this host's SDK was built by \(host): Swift has no stable ABI on Linux, rebuild the plugin with the same toolchain")
            case .registrationThrows:
                let path = dir.path("libCILPluginThrowing.so")
                try FileManager.default.copyItem(at: try PluginFixtures.builtLibrary("libCILTestFixtureThrowing.so"),
                                                 to: URL(fileURLWithPath: path))
                return (path, "registration failed: plugin 'throwing-fixture': refuses to register on purpose (test fixture for a registration that throws)")
            case .duplicateBuiltInName:
                let path = dir.path("libCILPluginLUCIRCopy.so")
                try FileManager.default.copyItem(at: try PluginFixtures.builtLibrary("libCILPluginLUCIR.so"),
                                                 to: URL(fileURLWithPath: path))
                let original = PluginFixtures.buildDirectory.appendingPathComponent("libCILPluginLUCIR.so").path
                return (path, "registers baseline 'lucir', which \(original) already provides")
            case .cPluginABIMismatch:
                return (try compile("c_loss_plugin.c", "libCILPluginCABI.so", ["FIXTURE_PLUGIN_ABI=2"]),
                        "C plugin built for plugin ABI 2, this host speaks ABI 1")
            case .cPluginRefusesTheHost:
                return (try compile("c_loss_plugin.c", "libCILPluginCRefuses.so", ["FIXTURE_REFUSE"]),
                        "cil_c_plugin_entry returned NULL (the plugin refused ABI 1)")
            case .cPluginManifestNamesAMissingSymbol:
                return (try compile("c_loss_plugin.c", "libCILPluginCGhost.so", ["FIXTURE_MISSING_SYMBOL"]),
                        "manifest declares function 'ghost' as symbol 'demo_ghost', which the library does not export")
            case .cPluginInvalidName:
                return (try compile("c_loss_plugin.c", "libCILPluginCBadName.so", ["FIXTURE_NAME=\"Demo Loss\""]),
                        "plugin 'Demo Loss': invalid plugin name 'Demo Loss': use lowercase letters, digits, '-' and '_'")
            case .duplicateCPluginName:
                // Two files, one plugin name: the first (in file-name order) wins.
                let first = try compile("c_loss_plugin.c", "libCILPluginDemoA.so")
                let second = dir.path("libCILPluginDemoB.so")
                try FileManager.default.copyItem(atPath: first, toPath: second)
                return (second, "registers loss term 'demo-loss', which \(first) already provides")
            }
        }

        /// Plugins the directory provides besides the failing library.
        var alsoListed: [String] { self == .duplicateCPluginName ? ["loss term/demo-loss"] : [] }
    }

    @Test(arguments: Broken.allCases)
    func brokenLibraryGivesOneExactLine(_ broken: Broken) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (file, reason) = try broken.install(in: dir)
        let out = try Self.plugins(["--plugin-dir", dir.url.path])
        #expect(out.status == 1)
        #expect(out.stderr == "cil: plugin \(file): \(reason)\n")
        // The good plugins are still there.
        #expect(Self.listed(out.stdout) == Self.builtInListing + broken.alsoListed)
    }

    @Test func allBrokenLibrariesTogetherStillListTheGoodOnes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var expected: [(file: String, line: String)] = []
        for broken in Broken.allCases {
            let sub = try dir.subdirectory(broken.rawValue)
            let (file, reason) = try broken.install(in: TemporaryDirectory(existing: sub))
            expected.append((file, "cil: plugin \(file): \(reason)"))
        }
        try PluginFixtures.compile("c_loss_plugin.c", to: dir.file("libCILPluginGoodHooks.so"), defines: ["FIXTURE_HOOKS_ONLY"])
        let arguments = [dir.url.path] + Broken.allCases.map { dir.url.appendingPathComponent($0.rawValue).path }
        let out = try Self.plugins(["--json"] + arguments.flatMap { ["--plugin-dir", $0] })
        #expect(out.status == 1)
        // One line per broken library, in search order, and nothing else.
        #expect(Self.lines(out.stderr) == expected.map(\.line))
        let entries = try Self.jsonArray(out)
        let names = entries.map { "\($0["kind"] as? String ?? "?")/\($0["name"] as? String ?? "?")" }
        #expect(names == Self.builtInListing + ["loss term/demo-loss", "hooks/demo-hooks"])
    }

    // MARK: - C plugins

    @Test func listsACPluginWithItsManifestFunctions() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try PluginFixtures.compile("c_loss_plugin.c", to: dir.file("libCILPluginDemo.so"))
        try PluginFixtures.compile("c_loss_plugin.c", to: dir.file("libCILPluginDemoHooks.so"), defines: ["FIXTURE_HOOKS_ONLY"])
        let out = try Self.plugins(["--plugin-dir", dir.url.path, "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.isEmpty)
        let entries = try Self.jsonArray(out)
        let loss = try #require(entries.first { $0["name"] as? String == "demo-loss" })
        #expect(loss["kind"] as? String == "loss term")
        #expect(loss["version"] as? String == "1.2.3")
        #expect(loss["summary"] as? String == "fixture: squared-error loss term and libffi demo functions")
        #expect(loss["path"] as? String == dir.path("libCILPluginDemo.so"))
        #expect((loss["options"] as? [Any])?.isEmpty == true)
        let functions = (loss["functions"] as? [[String: String]]) ?? []
        #expect(functions.map { $0["name"] ?? "" } == ["dot", "add", "scale", "mix", "complement", "fill", "advance", "counter"])
        #expect(functions.first == ["name": "dot", "symbol": "demo_dot", "signature": "double(pointer, pointer, int64)"])
        #expect(functions.map { $0["signature"] ?? "" } == [
            "double(pointer, pointer, int64)", "int32(int32, int32)", "float(float, double)",
            "uint64(uint32, uint64, int64)", "uint32(uint32)", "void(pointer, int64, float)",
            "pointer(pointer, int64)", "int64()",
        ])
        let hooks = try #require(entries.first { $0["name"] as? String == "demo-hooks" })
        #expect(hooks["kind"] as? String == "hooks")
        #expect(hooks["path"] as? String == dir.path("libCILPluginDemoHooks.so"))
        #expect(Set(hooks.keys) == ["name", "kind", "version", "path", "summary", "options", "functions"])

        let table = try Self.plugins(["--plugin-dir", dir.url.path])
        #expect(table.status == 0)
        #expect(table.stdout.contains("\nloss term    demo-loss 1.2.3 — fixture: squared-error loss term and libffi demo functions\n"))
        #expect(table.stdout.contains("\n             function dot: double(pointer, pointer, int64) [demo_dot]\n"))
        #expect(table.stdout.contains("\nhooks        demo-hooks 1.2.3 — "))
    }

    // MARK: - Where plugins are searched

    @Test func pluginDirIsRepeatable() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try dir.subdirectory("a"), b = try dir.subdirectory("b")
        try PluginFixtures.compile("c_loss_plugin.c", to: a.appendingPathComponent("libCILPluginDemo.so"))
        try PluginFixtures.compile("c_loss_plugin.c", to: b.appendingPathComponent("libCILPluginDemoHooks.so"),
                                   defines: ["FIXTURE_HOOKS_ONLY"])
        let out = try Self.plugins(["--plugin-dir", a.path, "--plugin-dir", b.path, "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.isEmpty)
        let entries = try Self.jsonArray(out)
        #expect(entries.first { $0["name"] as? String == "demo-loss" }?["path"] as? String
            == a.appendingPathComponent("libCILPluginDemo.so").path)
        #expect(entries.first { $0["name"] as? String == "demo-hooks" }?["path"] as? String
            == b.appendingPathComponent("libCILPluginDemoHooks.so").path)
        #expect(entries.count == Self.builtIns.count + 2)
    }

    @Test func cilPluginPathIsColonSeparated() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let a = try dir.subdirectory("a"), b = try dir.subdirectory("b")
        try PluginFixtures.compile("c_loss_plugin.c", to: a.appendingPathComponent("libCILPluginDemo.so"))
        try PluginFixtures.compile("c_loss_plugin.c", to: b.appendingPathComponent("libCILPluginDemoHooks.so"),
                                   defines: ["FIXTURE_HOOKS_ONLY"])
        // An empty entry ("::") is skipped, not taken as the current directory.
        let out = try Self.plugins(["--json"], pluginPath: "\(a.path)::\(b.path)")
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.isEmpty)
        let names = try Self.jsonArray(out).map { "\($0["kind"] as? String ?? "?")/\($0["name"] as? String ?? "?")" }
        #expect(names == Self.builtInListing + ["loss term/demo-loss", "hooks/demo-hooks"])

        // A directory given both ways is searched once (no duplicate-name failure).
        let both = try Self.plugins(["--plugin-dir", a.path], pluginPath: "\(a.path):\(b.path)")
        #expect(both.status == 0)
        #expect(both.stderr.isEmpty)
        #expect(Self.listed(both.stdout) == Self.builtInListing + ["loss term/demo-loss", "hooks/demo-hooks"])
    }

    @Test func missingDirectoryIsOneLineAndTheRestStillLoads() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let missing = dir.path("no-such-directory")
        let out = try Self.plugins(["--plugin-dir", missing])
        #expect(out.status == 1)
        #expect(out.stderr == "cil: plugin \(missing): plugin directory does not exist\n")
        #expect(Self.listed(out.stdout) == Self.builtInListing)

        let fromEnvironment = try Self.plugins([], pluginPath: "\(missing):\(dir.url.path)")
        #expect(fromEnvironment.status == 1)
        #expect(fromEnvironment.stderr == "cil: plugin \(missing): plugin directory does not exist\n")
        #expect(Self.listed(fromEnvironment.stdout) == Self.builtInListing)
    }

    @Test func onlyLibCILPluginSharedLibrariesAreLoaded() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let junk = Data("not a library".utf8)
        for name in ["notaplugin.so", "libCILPluginJunk.so.txt", "libcilpluginjunk.so", "CILPluginJunk.so"] {
            try junk.write(to: dir.file(name))
        }
        // A real plugin under a name the scan does not match is ignored too.
        try PluginFixtures.compile("c_loss_plugin.c", to: dir.file("libDemo.so"))
        let out = try Self.plugins(["--plugin-dir", dir.url.path])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.isEmpty)
        #expect(Self.listed(out.stdout) == Self.builtInListing)
    }

    @Test func aLibraryReachedTwiceIsLoadedOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A symbolic link to a built plugin, and the build directory itself again.
        try FileManager.default.createSymbolicLink(at: dir.file("libCILPluginLUCIRLink.so"),
                                                   withDestinationURL: try PluginFixtures.builtLibrary("libCILPluginLUCIR.so"))
        let out = try Self.plugins(["--plugin-dir", dir.url.path, "--plugin-dir", PluginFixtures.buildDirectory.path])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stderr.isEmpty)
        #expect(Self.listed(out.stdout) == Self.builtInListing)
    }

    // MARK: - The C ABI header itself

    /// cil_plugin.h is for "plugins in C (or any language with a C ABI)": it compiles
    /// with a C compiler that is not clang (gcc, the `cc` of Debian) as it is.
    @Test(.enabled(if: PluginFixtures.onPath("gcc"), "needs gcc"))
    func headerCompilesWithGCC() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = dir.file("header_only.c")
        try Data("#include \"cil_plugin.h\"\nint header_only_fixture;\n".utf8).write(to: source)
        do {
            let result = try PluginFixtures.run("/usr/bin/env", [
                "gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                "-I", PluginFixtures.includeDirectory.path, "-o", dir.path("libheader.so"), source.path,
            ])
            #expect(result.status == 0, "gcc: \(result.output)")
        }
    }
}
