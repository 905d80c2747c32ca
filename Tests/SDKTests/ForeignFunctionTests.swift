import CILSDK
import Foundation
import Testing

/// Functions of a C library known only by the signature a manifest declares, called
/// through libffi: every argument and return type, checked against what the C code
/// computes.
@Suite("libffi calls")
struct ForeignFunctionTests {
    /// A ForeignFunction for `symbol` of the fixture, built from dlsym.
    static func function(_ symbol: String, _ returns: ForeignType, _ arguments: [ForeignType]) throws -> ForeignFunction {
        let library = try CFixture.demo.get()
        return try ForeignFunction(name: symbol, symbol: symbol, address: try library.symbol(symbol),
                                   returnType: returns, argumentTypes: arguments)
    }

    @Test func pointerArgumentsReadFloatArrays() throws {
        let dot = try Self.function("demo_dot", .double, [.pointer, .pointer, .int64])
        #expect(dot.signature == "double(pointer, pointer, int64)")
        var a: [Float] = [1, 2, 3, 4.5]
        var b: [Float] = [0.5, -1, 2, 2]
        let (all, firstThree) = try a.withUnsafeMutableBytes { pa in
            try b.withUnsafeMutableBytes { pb in
                (try dot.call([.pointer(pa.baseAddress), .pointer(pb.baseAddress), .int64(4)]),
                 try dot.call([.pointer(pa.baseAddress), .pointer(pb.baseAddress), .int64(3)]))
            }
        }
        let expectedAll: Double = 0.5 - 2 + 6 + 9, expectedFirstThree: Double = 0.5 - 2 + 6
        #expect(all == .double(expectedAll))
        #expect(firstThree == .double(expectedFirstThree))
    }

    @Test func int32ArgumentsAndResultKeepTheirSign() throws {
        let add = try Self.function("demo_add", .int32, [.int32, .int32])
        #expect(try add.call([.int32(2), .int32(3)]) == .int32(5))
        #expect(try add.call([.int32(-7), .int32(3)]) == .int32(-4))
        #expect(try add.call([.int32(Int32.min), .int32(0)]) == .int32(Int32.min))
    }

    @Test func floatAndDoubleArguments() throws {
        let scale = try Self.function("demo_scale", .float, [.float, .double])
        #expect(try scale.call([.float(1.5), .double(2.25)]) == .float(3.375))
        #expect(try scale.call([.float(-0.1), .double(10)]) == .float(Float(Double(Float(-0.1)) * 10)))
    }

    @Test func unsignedAndSixtyFourBitIntegers() throws {
        let mix = try Self.function("demo_mix", .uint64, [.uint32, .uint64, .int64])
        // UInt32.max must arrive zero-extended, -1 as a 64-bit two's complement.
        #expect(try mix.call([.uint32(.max), .uint64(1 << 40), .int64(-1)])
            == .uint64(UInt64(UInt32.max) + (1 << 40) &- 1))
        let complement = try Self.function("demo_complement", .uint32, [.uint32])
        #expect(try complement.call([.uint32(0xFF)]) == .uint32(0xFFFF_FF00))
        #expect(try complement.call([.uint32(0xFFFF_FFFF)]) == .uint32(0))
    }

    @Test func voidResultWritesThroughAPointer() throws {
        let fill = try Self.function("demo_fill", .void, [.pointer, .int64, .float])
        var buffer: [Float] = [0, 0, 0, -1]
        let result = try buffer.withUnsafeMutableBytes { try fill.call([.pointer($0.baseAddress), .int64(3), .float(7.25)]) }
        #expect(result == .void)
        #expect(buffer == [7.25, 7.25, 7.25, -1])
    }

    @Test func pointerResult() throws {
        let advance = try Self.function("demo_advance", .pointer, [.pointer, .int64])
        var buffer: [Float] = [1, 2, 3, 4]
        try buffer.withUnsafeMutableBytes { raw in
            let base = try #require(raw.baseAddress)
            #expect(try advance.call([.pointer(base), .int64(2)]) == .pointer(base + 2 * MemoryLayout<Float>.stride))
        }
    }

    @Test func noArguments() throws {
        let counter = try Self.function("demo_counter", .int64, [])
        #expect(counter.signature == "int64()")
        guard case let .int64(first) = try counter.call([]) else {
            Issue.record("demo_counter did not return an int64")
            return
        }
        #expect(try counter.call([]) == .int64(first + 1))
    }

    @Test func argumentsOfTheWrongTypeAreRefused() throws {
        let add = try Self.function("demo_add", .int32, [.int32, .int32])
        #expect(throws: ForeignFunction.Failure.self) { try add.call([.int64(1), .int32(2)]) }
        do {
            _ = try add.call([.int64(1), .int32(2)])
        } catch {
            #expect("\(error)" == "function 'demo_add' takes (int32, int32), got (int64, int32)")
        }
        do {
            _ = try add.call([.int32(1)])
        } catch {
            #expect("\(error)" == "function 'demo_add' takes (int32, int32), got (int32)")
        }
    }

    @Test func voidIsNotAnArgumentType() throws {
        let library = try CFixture.demo.get()
        do {
            _ = try ForeignFunction(name: "bad", symbol: "demo_add", address: try library.symbol("demo_add"),
                                    returnType: .int32, argumentTypes: [.int32, .void])
            Issue.record("a 'void' argument was accepted")
        } catch {
            #expect("\(error)" == "function 'bad': 'void' is not an argument type")
        }
    }

    /// The same functions reached the way the host reaches them: declared in the C
    /// plugin's manifest, resolved by CPlugin.
    @Test func manifestDeclaredFunctionsThroughCPlugin() throws {
        let plugin = try CFixture.demo.get().plugin()
        #expect(plugin.info == PluginInfo(name: "demo-loss", version: "1.2.3",
                                          summary: "fixture: squared-error loss term and libffi demo functions"))
        #expect(plugin.kind == .lossTerm)
        #expect(plugin.functions.map(\.name) == ["dot", "add", "scale", "mix", "complement", "fill", "advance", "counter"])
        #expect(plugin.functions.map(\.signature) == [
            "double(pointer, pointer, int64)", "int32(int32, int32)", "float(float, double)",
            "uint64(uint32, uint64, int64)", "uint32(uint32)", "void(pointer, int64, float)",
            "pointer(pointer, int64)", "int64()",
        ])
        let dot = try #require(plugin.function(named: "dot"))
        #expect(dot.symbol == "demo_dot")
        var x: [Float] = [3, 4], y: [Float] = [-2, 0.5]
        let value = try x.withUnsafeMutableBytes { px in
            try y.withUnsafeMutableBytes { py in try dot.call([.pointer(px.baseAddress), .pointer(py.baseAddress), .int64(2)]) }
        }
        #expect(value == .double(-4))
        #expect(try plugin.function(named: "add")?.call([.int32(40), .int32(2)]) == .int32(42))
        #expect(try plugin.function(named: "scale")?.call([.float(2), .double(0.125)]) == .float(0.25))
        #expect(plugin.function(named: "ghost") == nil)
    }
}

/// `ForeignManifest.parse`: every error names the plugin and says what is wrong.
@Suite("C plugin manifests")
struct ForeignManifestTests {
    static func message(_ json: String) -> String? {
        do {
            _ = try ForeignManifest.parse(json, plugin: "demo")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func parsesEveryType() throws {
        let json = """
        {"functions": [{"name": "f", "symbol": "sym_f", "returns": "void",
                        "arguments": ["int32", "int64", "uint32", "uint64", "float", "double", "pointer"]}]}
        """
        let manifest = try ForeignManifest.parse(json, plugin: "demo")
        let function = try #require(manifest.functions.first)
        #expect(manifest.functions.count == 1)
        #expect(function.name == "f")
        #expect(function.symbol == "sym_f")
        #expect(function.returns == .void)
        #expect(function.arguments == [.int32, .int64, .uint32, .uint64, .float, .double, .pointer])
        #expect(try ForeignManifest.parse(#"{"functions": []}"#, plugin: "demo").functions.isEmpty)
    }

    @Test func invalidJSON() {
        #expect(Self.message(#"{"functions": [}"#)
            == "plugin 'demo': manifest is not valid JSON (The given data was not valid JSON.)")
        #expect(Self.message("") == "plugin 'demo': manifest is not valid JSON (The given data was not valid JSON.)")
    }

    @Test func missingKey() {
        #expect(Self.message(#"{"functions": [{"name": "f", "returns": "void", "arguments": []}]}"#)
            == "plugin 'demo': manifest lacks the key 'symbol'")
        #expect(Self.message("{}") == "plugin 'demo': manifest lacks the key 'functions'")
    }

    @Test func valueOfTheWrongJSONType() {
        #expect(Self.message(#"{"functions": [{"name": "f", "symbol": "f", "returns": "void", "arguments": "int32"}]}"#)
            == "plugin 'demo': manifest value at 'functions[0].arguments' is invalid; types are void, int32, int64, uint32, uint64, float, double, pointer")
    }

    @Test func unknownType() {
        #expect(Self.message(#"{"functions": [{"name": "f", "symbol": "f", "returns": "int128", "arguments": []}]}"#)
            == "plugin 'demo': manifest value at 'functions[0].returns' is invalid; types are void, int32, int64, uint32, uint64, float, double, pointer")
    }
}
