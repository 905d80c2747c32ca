import CILSDK
import Foundation
import Testing

/// A C plugin's loss term (c_loss_plugin.c) as an op of the autodiff graph: the value
/// and the gradients come from C, and flow through the engine's backward pass.
@Suite("C loss terms")
struct ForeignLossTermTests {
    // One batch: B = 3 samples, C = 4 classes (2 old in phase 1), D = 2 features.
    static let b = 3, c = 4, d = 2, old = 2
    static let logits: [Float] = [0.5, -1.0, 2.0, 0.25, 1.5, 0.0, -0.5, 3.0, -2.0, 1.0, 0.75, -0.25]
    static let features: [Float] = [0.3, -1.2, 2.0, 0.5, -0.7, 1.1]
    static let targets = [2, 0, 3]
    static let oldLogits: [Float] = [0.4, -0.8, 1.0, 0.5, -1.5, 0.9]
    static let oldFeatures: [Float] = [0.1, -1.0, 1.5, 0.0, -0.5, 1.0]
    /// The fixture's feature weight (its user_data).
    static let weight = 0.5

    /// The loss the fixture documents, computed here in double precision:
    /// value, dL/dlogits, dL/dfeatures.
    static func reference(logits z: [Float], features f: [Float], phase1: Bool) -> (Double, [Double], [Double]) {
        let bd = Double(b)
        var value = 0.0
        var gz = [Double](repeating: 0, count: b * c), gf = [Double](repeating: 0, count: b * d)
        for i in 0..<b {
            for j in 0..<c {
                let diff = Double(z[i * c + j]) - (targets[i] == j ? 1 : 0)
                value += diff * diff / (bd * Double(c))
                gz[i * c + j] = 2 * diff / (bd * Double(c))
                if phase1 && j < old {
                    let e = Double(z[i * c + j]) - Double(oldLogits[i * old + j])
                    value += e * e / (bd * Double(old))
                    gz[i * c + j] += 2 * e / (bd * Double(old))
                }
            }
            for k in 0..<d {
                let x = Double(f[i * d + k])
                value += weight * x * x / (2 * bd)
                gf[i * d + k] = weight * x / bd
                if phase1 {
                    let e = x - Double(oldFeatures[i * d + k])
                    value += e * e / (2 * bd)
                    gf[i * d + k] += e / bd
                }
            }
        }
        return (value, gz, gf)
    }

    static func lossTerm() throws -> ForeignLossTerm {
        try #require(try CFixture.demo.get().plugin().lossTerm)
    }

    static func close(_ a: [Float], _ b: [Double], tolerance: Double = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs(Double($0) - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test func valueAndGradientsInPhaseZero() throws {
        let term = try Self.lossTerm()
        #expect(term.plugin == "demo-loss")
        let z = Tensor(shape: [Self.b, Self.c], Self.logits, requiresGrad: true)
        let f = Tensor(shape: [Self.b, Self.d], Self.features, requiresGrad: true)
        let loss = try term(logits: z, features: f, targets: Self.targets, phase: 0, oldClasses: 0)
        let (value, gz, gf) = Self.reference(logits: Self.logits, features: Self.features, phase1: false)
        #expect(loss.shape == [])
        #expect(abs(Double(loss.item) - value) <= 1e-5 * value, "C \(loss.item), reference \(value)")
        (loss * 3).backward()
        #expect(Self.close(try #require(z.grad).scalars, gz.map { 3 * $0 }), "\(z.grad?.scalars ?? [])")
        #expect(Self.close(try #require(f.grad).scalars, gf.map { 3 * $0 }), "\(f.grad?.scalars ?? [])")
        #expect(z.grad?.shape == [Self.b, Self.c] && f.grad?.shape == [Self.b, Self.d])
    }

    @Test func phaseOneUsesThePreviousModelAsConstants() throws {
        let term = try Self.lossTerm()
        let z = Tensor(shape: [Self.b, Self.c], Self.logits, requiresGrad: true)
        let f = Tensor(shape: [Self.b, Self.d], Self.features, requiresGrad: true)
        // Even if they required a gradient, the old outputs get none from the term.
        let oz = Tensor(shape: [Self.b, Self.old], Self.oldLogits, requiresGrad: true)
        let of = Tensor(shape: [Self.b, Self.d], Self.oldFeatures, requiresGrad: true)
        let loss = try term(logits: z, features: f, targets: Self.targets, phase: 1, oldClasses: Self.old,
                            oldLogits: oz, oldFeatures: of)
        let (value, gz, gf) = Self.reference(logits: Self.logits, features: Self.features, phase1: true)
        #expect(abs(Double(loss.item) - value) <= 1e-5 * value, "C \(loss.item), reference \(value)")
        // Composed with engine ops: d/dz (3 L + 0.5 sum z) = 3 dL/dz + 0.5.
        (loss * 3 + z.sum() * 0.5).backward()
        #expect(Self.close(try #require(z.grad).scalars, gz.map { 3 * $0 + 0.5 }), "\(z.grad?.scalars ?? [])")
        #expect(Self.close(try #require(f.grad).scalars, gf.map { 3 * $0 }), "\(f.grad?.scalars ?? [])")
        #expect(oz.grad == nil)
        #expect(of.grad == nil)
    }

    /// The C gradients against central differences of the C value (the loss is
    /// quadratic, so the differences are exact up to float rounding).
    @Test func gradientsMatchFiniteDifferencesOfTheValue() throws {
        let term = try Self.lossTerm()
        func value(_ z: [Float], _ f: [Float]) throws -> Double {
            Double(try term(logits: Tensor(shape: [Self.b, Self.c], z), features: Tensor(shape: [Self.b, Self.d], f),
                            targets: Self.targets, phase: 1, oldClasses: Self.old,
                            oldLogits: Tensor(shape: [Self.b, Self.old], Self.oldLogits),
                            oldFeatures: Tensor(shape: [Self.b, Self.d], Self.oldFeatures)).item)
        }
        let z = Tensor(shape: [Self.b, Self.c], Self.logits, requiresGrad: true)
        let f = Tensor(shape: [Self.b, Self.d], Self.features, requiresGrad: true)
        try term(logits: z, features: f, targets: Self.targets, phase: 1, oldClasses: Self.old,
                 oldLogits: Tensor(shape: [Self.b, Self.old], Self.oldLogits),
                 oldFeatures: Tensor(shape: [Self.b, Self.d], Self.oldFeatures)).backward()
        let gz = try #require(z.grad).scalars, gf = try #require(f.grad).scalars
        let h: Float = 0.125
        for i in 0..<Self.logits.count {
            var plus = Self.logits, minus = Self.logits
            plus[i] += h
            minus[i] -= h
            let numeric = (try value(plus, Self.features) - value(minus, Self.features)) / (2 * Double(h))
            #expect(abs(numeric - Double(gz[i])) < 1e-4, "dL/dlogits[\(i)]: numeric \(numeric), C \(gz[i])")
        }
        for i in 0..<Self.features.count {
            var plus = Self.features, minus = Self.features
            plus[i] += h
            minus[i] -= h
            let numeric = (try value(Self.logits, plus) - value(Self.logits, minus)) / (2 * Double(h))
            #expect(abs(numeric - Double(gf[i])) < 1e-4, "dL/dfeatures[\(i)]: numeric \(numeric), C \(gf[i])")
        }
    }

    // MARK: - Failures become PluginError naming the plugin

    static func failure(_ body: () throws -> Tensor) -> PluginError? {
        do {
            _ = try body()
            return nil
        } catch let error as PluginError {
            return error
        } catch {
            Issue.record("not a PluginError: \(error)")
            return nil
        }
    }

    @Test func failingLossTermThrowsItsMessage() throws {
        let term = try Self.lossTerm()
        let error = Self.failure {
            try term(logits: Tensor(shape: [Self.b, Self.c], Self.logits), features: Tensor(shape: [Self.b, Self.d], Self.features),
                     targets: [0, 9, 1], phase: 0, oldClasses: 0)
        }
        #expect(error == .failed(plugin: "demo-loss", reason: "loss term failed (status 2): target 9 of sample 1 is not in 0..<4"))
        #expect(error?.description == "plugin 'demo-loss': loss term failed (status 2): target 9 of sample 1 is not in 0..<4")

        let noOldLogits = Self.failure {
            try term(logits: Tensor(shape: [Self.b, Self.c], Self.logits), features: Tensor(shape: [Self.b, Self.d], Self.features),
                     targets: Self.targets, phase: 1, oldClasses: Self.old)
        }
        #expect(noOldLogits?.description == "plugin 'demo-loss': loss term failed (status 3): phase 1 has 2 old classes but no old logits")
    }

    @Test func failureWithoutAMessageGivesTheStatus() throws {
        let term = try Self.lossTerm()
        let error = Self.failure {
            try term(logits: Tensor(shape: [Self.b, Self.c], Self.logits), features: Tensor(shape: [Self.b, Self.d], Self.features),
                     targets: Self.targets, phase: -1, oldClasses: 0)
        }
        #expect(error == .failed(plugin: "demo-loss", reason: "loss term failed (status 4)"))
    }

    @Test func nonFiniteValueIsAnError() throws {
        let term = try Self.lossTerm()
        var z = Self.logits
        z[5] = .nan
        let error = Self.failure {
            try term(logits: Tensor(shape: [Self.b, Self.c], z), features: Tensor(shape: [Self.b, Self.d], Self.features),
                     targets: Self.targets, phase: 0, oldClasses: 0)
        }
        #expect(error == .failed(plugin: "demo-loss", reason: "loss term returned a non-finite value nan"))
    }
}

/// What CPlugin refuses when it reads a C plugin's description.
@Suite("C plugin descriptions")
struct CPluginTests {
    static func refusal(_ defines: [String]) throws -> String? {
        let library = try CFixture.load(defines: defines)
        do {
            _ = try library.plugin()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func hooksOnlyPlugin() throws {
        let plugin = try CFixture.load(defines: ["FIXTURE_HOOKS_ONLY"]).plugin()
        #expect(plugin.info.name == "demo-hooks")
        #expect(plugin.kind == .hooks)
        #expect(plugin.lossTerm == nil)
        #expect(plugin.functions.count == 8)
    }

    @Test func abiMismatch() throws {
        #expect(try Self.refusal(["FIXTURE_PLUGIN_ABI=2"]) == "C plugin built for plugin ABI 2, this host speaks ABI 1")
    }

    @Test func manifestSymbolTheLibraryLacks() throws {
        #expect(try Self.refusal(["FIXTURE_MISSING_SYMBOL"])
            == "manifest declares function 'ghost' as symbol 'demo_ghost', which the library does not export")
    }

    /// A manifest the plugin cannot be used with (the exact wording is checked, as a
    /// known issue, in ForeignManifestTests.unknownType).
    @Test func manifestWithAnUnknownType() throws {
        let message = try Self.refusal(["FIXTURE_BAD_TYPE"])
        #expect(message?.hasPrefix("plugin 'demo-loss': manifest ") == true, "\(message ?? "accepted")")
    }

    @Test func invalidName() throws {
        #expect(try Self.refusal(["FIXTURE_NAME=\"Demo Loss\""])
            == "plugin 'Demo Loss': invalid plugin name 'Demo Loss': use lowercase letters, digits, '-' and '_'")
        #expect(try Self.refusal(["FIXTURE_NAME=\"\""]) == "its cil_c_plugin has no name")
    }
}
