import CILSDK
import Testing

/// Option values a plugin declares, checked against their type, defaults filled in.
@Suite("Plugin options")
struct PluginOptionsTests {
    static let specs: [OptionSpec] = [
        .choice("variant", ["manets", "classic"], default: "manets", help: "which variant"),
        .float("T", default: 2, help: "temperature"),
        .int("K", default: 2, help: "negatives"),
        .bool("fixed-alpha", default: false, help: "fix alpha"),
        .string("lambda-base", default: "auto", help: "weight"),
    ]

    static func message(_ given: [String: String], specs: [OptionSpec] = specs) -> String? {
        do {
            _ = try PluginOptions(plugin: "demo", specs: specs, given: given)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func defaultsAreFilledIn() throws {
        let options = try PluginOptions(plugin: "demo", specs: Self.specs, given: [:])
        #expect(options.plugin == "demo")
        #expect(options.values == ["variant": "manets", "T": "2.0", "K": "2", "fixed-alpha": "false", "lambda-base": "auto"])
        #expect(options.string("variant") == "manets")
        #expect(options.float("T") == 2)
        #expect(options.int("K") == 2)
        #expect(options.bool("fixed-alpha") == false)
        #expect(options.string("lambda-base") == "auto")
    }

    @Test func givenValuesReplaceDefaults() throws {
        let options = try PluginOptions(plugin: "demo", specs: Self.specs,
                                        given: ["variant": "classic", "T": "1e-1", "K": "-3", "fixed-alpha": "true"])
        #expect(options.string("variant") == "classic")
        #expect(options.float("T") == 0.1)
        #expect(options.int("K") == -3)
        #expect(options.bool("fixed-alpha"))
        #expect(options.string("lambda-base") == "auto")
    }

    @Test func unknownOptionListsTheValidOnes() {
        #expect(Self.message(["lr": "0.1"])
            == "plugin 'demo' has no option 'lr'; its options are: variant, T, K, fixed-alpha, lambda-base")
        #expect(Self.message(["lr": "0.1"], specs: []) == "plugin 'demo' has no option 'lr'; it has no options")
        #expect(throws: PluginError.unknownOption(plugin: "demo", option: "lr", valid: [])) {
            try PluginOptions(plugin: "demo", specs: [], given: ["lr": "0.1"])
        }
    }

    @Test func invalidValuesNameTheOptionAndTheExpectedType() {
        #expect(Self.message(["K": "2.5"]) == "option 'K' of plugin 'demo' expects an integer, got '2.5'")
        #expect(Self.message(["K": ""]) == "option 'K' of plugin 'demo' expects an integer, got ''")
        #expect(Self.message(["T": "warm"]) == "option 'T' of plugin 'demo' expects a number, got 'warm'")
        #expect(Self.message(["T": "nan"]) == "option 'T' of plugin 'demo' expects a number, got 'nan'")
        #expect(Self.message(["T": "inf"]) == "option 'T' of plugin 'demo' expects a number, got 'inf'")
        #expect(Self.message(["fixed-alpha": "yes"]) == "option 'fixed-alpha' of plugin 'demo' expects true or false, got 'yes'")
        #expect(Self.message(["fixed-alpha": "True"]) == "option 'fixed-alpha' of plugin 'demo' expects true or false, got 'True'")
        #expect(Self.message(["variant": "other"])
            == "option 'variant' of plugin 'demo' expects one of manets, classic, got 'other'")
        #expect(throws: PluginError.invalidOptionValue(plugin: "demo", option: "K", expected: "an integer", got: "x")) {
            try PluginOptions(plugin: "demo", specs: Self.specs, given: ["K": "x"])
        }
    }

    @Test func firstProblemInNameOrderIsReported() {
        // Options are checked in name order, so the message does not depend on
        // dictionary order.
        #expect(Self.message(["zeta": "1", "K": "x"]) == "option 'K' of plugin 'demo' expects an integer, got 'x'")
        #expect(Self.message(["zeta": "1", "alpha": "1"])
            == "plugin 'demo' has no option 'alpha'; its options are: variant, T, K, fixed-alpha, lambda-base")
    }

    @Test func otherPluginErrors() {
        #expect(PluginError.notImplemented(plugin: "podnet", what: "training").description
            == "plugin 'podnet': training is not implemented yet")
        #expect(PluginError.failed(plugin: "x", reason: "boom").description == "plugin 'x': boom")
    }
}

/// Build stamps: what a plugin was built with, and why the host refuses it.
@Suite("Plugin build stamps")
struct PluginBuildStampTests {
    static let host = SDKInfo.stamp

    @Test func theSDKStamp() {
        #expect(SDKInfo.abiVersion == 1)
        #expect(SDKInfo.version == "0.5.0")
        #expect(Self.host.abiVersion == SDKInfo.abiVersion)
        #expect(Self.host.sdkVersion == SDKInfo.version)
        #expect(Self.host.structSize == UInt32(MemoryLayout<cil_build_stamp>.size))
        #expect(!Self.host.toolchain.isEmpty)
        #expect(SDKInfo.compilerVersion == Self.host.toolchain)
        #expect(Self.host.incompatibility(with: Self.host) == nil)
    }

    @Test func abiMismatchIsReportedFirst() {
        var stamp = Self.host
        stamp.abiVersion = 2
        stamp.structSize = 99
        stamp.sdkVersion = "9.9.9"
        stamp.toolchain = "other"
        #expect(stamp.incompatibility(with: Self.host) == "built for plugin ABI 2, this host speaks ABI 1")
    }

    @Test func structSizeMismatch() {
        var stamp = Self.host
        stamp.structSize = 16
        stamp.sdkVersion = "9.9.9"
        #expect(stamp.incompatibility(with: Self.host)
            == "its build-info record has 16 bytes, expected \(MemoryLayout<cil_build_stamp>.size)")
    }

    @Test func sdkMismatch() {
        var stamp = Self.host
        stamp.sdkVersion = "0.6.0"
        stamp.toolchain = "other"
        #expect(stamp.incompatibility(with: Self.host)
            == "built against SDK 0.6.0, this host runs SDK 0.5.0: rebuild the plugin against this SDK")
    }

    @Test func otherCompiler() {
        var stamp = Self.host
        stamp.toolchain = "17.0.0 (other)"
        #expect(stamp.incompatibility(with: Self.host)
            == "built by another Swift compiler (17.0.0 (other)); this host's SDK was built by \(Self.host.toolchain): Swift has no stable ABI on Linux, rebuild the plugin with the same toolchain")
    }

    @Test func readsTheCRecord() {
        let info = cil_plugin_stamp().pointee
        #expect(PluginBuildStamp(info) == Self.host)
        let empty = cil_build_stamp(abi_version: 1, struct_size: 24, sdk_version: nil, toolchain: nil)
        #expect(PluginBuildStamp(empty) == PluginBuildStamp(abiVersion: 1, structSize: 24, sdkVersion: "", toolchain: ""))
    }
}

/// `PluginRegistrar.handle`, the body of every Swift plugin's cil_plugin_register.
@Suite("Plugin registrar")
struct PluginRegistrarTests {
    struct Refusal: Error, CustomStringConvertible {
        var description: String { "no thanks" }
    }

    @Test func noRegistrar() {
        #expect(PluginRegistrar.handle(nil, hostABI: SDKInfo.abiVersion) { _ in } == PluginRegistrar.Status.noRegistrar.rawValue)
    }

    @Test func abiMismatchDoesNotRunTheRegistration() {
        let registrar = PluginRegistrar()
        let status = withExtendedLifetime(registrar) {
            PluginRegistrar.handle(Unmanaged.passUnretained(registrar).toOpaque(), hostABI: 7) { _ in
                Issue.record("registration ran despite the ABI mismatch")
            }
        }
        #expect(status == PluginRegistrar.Status.abiMismatch.rawValue)
        #expect(registrar.failure == "plugin speaks ABI 1, host 7")
    }

    @Test func thrownErrorBecomesTheFailure() {
        let registrar = PluginRegistrar()
        let status = withExtendedLifetime(registrar) {
            PluginRegistrar.handle(Unmanaged.passUnretained(registrar).toOpaque(), hostABI: SDKInfo.abiVersion) { _ in
                throw PluginError.failed(plugin: "x", reason: "boom")
            }
        }
        #expect(status == PluginRegistrar.Status.registrationThrew.rawValue)
        #expect(registrar.failure == "plugin 'x': boom")

        let other = PluginRegistrar()
        _ = withExtendedLifetime(other) {
            PluginRegistrar.handle(Unmanaged.passUnretained(other).toOpaque(), hostABI: SDKInfo.abiVersion) { _ in
                throw Refusal()
            }
        }
        #expect(other.failure == "no thanks")
    }

    @Test func successfulRegistration() {
        let registrar = PluginRegistrar()
        var ran = false
        let status = withExtendedLifetime(registrar) {
            PluginRegistrar.handle(Unmanaged.passUnretained(registrar).toOpaque(), hostABI: SDKInfo.abiVersion) { r in
                ran = r === registrar
            }
        }
        #expect(status == PluginRegistrar.Status.ok.rawValue)
        #expect(ran)
        #expect(registrar.failure == nil)
        #expect(registrar.baselines.isEmpty && registrar.branchTypes.isEmpty)
    }
}
