// Option checking of the built baselines: unknown names, values of the wrong type,
// and each plugin's own value checks (LUCIR lambda-base and K, iCaRL T, PODNet's
// factors, proxies and finetune-epochs).

import CILSDK
import Foundation
import Testing

@Suite("Baseline options (built plugins)")
struct OptionTests {
    static func type(_ name: String) throws -> any Baseline.Type {
        switch name {
        case "lucir": return try BuiltPlugins.lucir()
        case "icarl": return try BuiltPlugins.icarl()
        default: return try BuiltPlugins.podnet()
        }
    }

    @Test("an unknown option is an error naming the plugin and listing its options",
          arguments: ["lucir", "icarl", "podnet"])
    func unknownOption(name: String) throws {
        let type = try Self.type(name)
        let valid = type.options.map(\.name)
        #expect(throws: PluginError.unknownOption(plugin: name, option: "bogus", valid: valid)) {
            _ = try instantiate(type, options: ["bogus": "1"])
        }
        let message = PluginError.unknownOption(plugin: name, option: "bogus", valid: valid).description
        #expect(message.contains("'\(name)'") && message.contains("'bogus'"))
        #expect(valid.allSatisfy { message.contains($0) }, "\(message)")
    }

    static func invalid(_ plugin: String, _ option: String, _ expected: String, _ got: String) -> PluginError {
        .invalidOptionValue(plugin: plugin, option: option, expected: expected, got: got)
    }

    @Test("lucir lambda-base: auto or a non-negative finite number", arguments: ["abc", "-1", "inf", "nan", ""])
    func lambdaBaseInvalid(text: String) throws {
        let type = try BuiltPlugins.lucir()
        #expect(throws: Self.invalid("lucir", "lambda-base", "auto or a non-negative number", text)) {
            _ = try instantiate(type, options: ["lambda-base": text])
        }
    }

    @Test("lucir lambda-base accepted values", arguments: ["auto", "0", "7.5", "1e1"])
    func lambdaBaseValid(text: String) throws {
        _ = try instantiate(try BuiltPlugins.lucir(), options: ["lambda-base": text])
    }

    @Test("lucir K: an integer >= 1", arguments: ["0", "-2"])
    func kInvalid(text: String) throws {
        let type = try BuiltPlugins.lucir()
        #expect(throws: Self.invalid("lucir", "K", "an integer >= 1", text)) {
            _ = try instantiate(type, options: ["K": text])
        }
    }

    @Test("values of the wrong type are refused by the option check, naming plugin and option")
    func wrongTypes() throws {
        let lucir = try BuiltPlugins.lucir(), icarl = try BuiltPlugins.icarl(), podnet = try BuiltPlugins.podnet()
        #expect(throws: Self.invalid("lucir", "K", "an integer", "two")) { _ = try instantiate(lucir, options: ["K": "two"]) }
        #expect(throws: Self.invalid("lucir", "dist", "a number", "x")) { _ = try instantiate(lucir, options: ["dist": "x"]) }
        #expect(throws: Self.invalid("icarl", "variant", "one of manets, classic", "original")) {
            _ = try instantiate(icarl, options: ["variant": "original"])
        }
        #expect(throws: Self.invalid("podnet", "learn-alpha", "true or false", "yes")) {
            _ = try instantiate(podnet, options: ["learn-alpha": "yes"])
        }
    }

    @Test("icarl T must be positive", arguments: ["0", "-1"])
    func icarlTemperature(text: String) throws {
        let type = try BuiltPlugins.icarl()
        #expect(throws: Self.invalid("icarl", "T", "a positive number", String(Float(text)!))) {
            _ = try instantiate(type, options: ["T": text])
        }
    }

    @Test("podnet: factors auto or non-negative, proxies >= 1, finetune-epochs >= 0, finetune-weight-decay >= 0")
    func podnetChecks() throws {
        let type = try BuiltPlugins.podnet()
        for option in ["pod-spatial-factor", "pod-flat-factor", "finetune-lr"] {
            #expect(throws: Self.invalid("podnet", option, "auto or a non-negative number", "-3")) {
                _ = try instantiate(type, options: [option: "-3"])
            }
            #expect(throws: Self.invalid("podnet", option, "auto or a non-negative number", "big")) {
                _ = try instantiate(type, options: [option: "big"])
            }
        }
        #expect(throws: Self.invalid("podnet", "proxies", "an integer >= 1", "0")) {
            _ = try instantiate(type, options: ["proxies": "0"])
        }
        #expect(throws: Self.invalid("podnet", "finetune-epochs", "an integer >= 0", "-1")) {
            _ = try instantiate(type, options: ["finetune-epochs": "-1"])
        }
        #expect(throws: Self.invalid("podnet", "finetune-weight-decay", "a non-negative number", "-0.1")) {
            _ = try instantiate(type, options: ["finetune-weight-decay": "-0.1"])
        }
    }
}
