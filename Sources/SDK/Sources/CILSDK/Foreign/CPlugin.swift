import CILPluginABI
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plugin written in C (or any language with a C ABI) against `cil_plugin.h`,
/// loaded from the `cil_c_plugin` its library's `cil_c_plugin_entry` returned.
public final class CPlugin: @unchecked Sendable {
    public let info: PluginInfo
    /// The library file.
    public let path: String
    /// Functions its manifest declares, ready to call through libffi.
    public let functions: [ForeignFunction]
    /// Its loss term, if it provides one.
    public let lossTerm: ForeignLossTerm?

    /// Reads and checks the plugin description; `handle` is the library's dlopen
    /// handle (to resolve manifest symbols). Errors say what is wrong.
    public init(descriptor: UnsafePointer<cil_c_plugin>, handle: UnsafeMutableRawPointer, path: String) throws {
        let d = descriptor.pointee
        func fail(_ reason: String) -> ForeignFunction.Failure { .init(description: reason) }
        guard d.abi_version == SDKInfo.abiVersion else {
            throw fail("C plugin built for plugin ABI \(d.abi_version), this host speaks ABI \(SDKInfo.abiVersion)")
        }
        guard Int(d.struct_size) >= MemoryLayout<cil_c_plugin>.size else {
            throw fail("its cil_c_plugin struct has \(d.struct_size) bytes, ABI \(SDKInfo.abiVersion) needs \(MemoryLayout<cil_c_plugin>.size)")
        }
        guard let namePointer = d.name, case let name = String(cString: namePointer), !name.isEmpty else {
            throw fail("its cil_c_plugin has no name")
        }
        try PluginRegistrar.checkName(name)
        info = PluginInfo(name: name, version: d.version.map { String(cString: $0) } ?? "unversioned",
                          summary: d.description.map { String(cString: $0) } ?? "")
        self.path = path
        var functions: [ForeignFunction] = []
        if let manifestPointer = d.manifest_json {
            let manifest = try ForeignManifest.parse(String(cString: manifestPointer), plugin: name)
            for f in manifest.functions {
                guard let address = dlsym(handle, f.symbol) else {
                    throw fail("manifest declares function '\(f.name)' as symbol '\(f.symbol)', which the library does not export")
                }
                functions.append(try ForeignFunction(name: f.name, symbol: f.symbol, address: address,
                                                     returnType: f.returns, argumentTypes: f.arguments))
            }
        }
        self.functions = functions
        lossTerm = d.loss_term.map { ForeignLossTerm(plugin: name, function: $0, userData: d.user_data) }
    }

    /// What this plugin provides: a loss term, or else only manifest functions.
    public var kind: PluginKind { lossTerm == nil ? .hooks : .lossTerm }

    /// The manifest function called `name`.
    public func function(named name: String) -> ForeignFunction? { functions.first { $0.name == name } }
}

/// A C plugin's loss term as an op of the autodiff graph: its value comes from the
/// plugin, its gradient w.r.t. the logits and the features from the plugin's
/// returned gradients times the upstream gradient.
public final class ForeignLossTerm: @unchecked Sendable {
    public let plugin: String
    private let function: cil_loss_term_fn
    private let userData: UnsafeMutableRawPointer?

    init(plugin: String, function: cil_loss_term_fn, userData: UnsafeMutableRawPointer?) {
        self.plugin = plugin
        self.function = function
        self.userData = userData
    }

    /// The loss term of one batch: logits [B, C], features [B, D], mapped targets;
    /// the previous model's outputs (constants) from phase 1 on.
    public func callAsFunction(logits: Tensor, features: Tensor, targets: [Int], phase: Int, oldClasses: Int,
                               oldLogits: Tensor? = nil, oldFeatures: Tensor? = nil) throws -> Tensor {
        precondition(logits.rank == 2 && features.rank == 2 && logits.shape[0] == features.shape[0]
                     && targets.count == logits.shape[0], "loss term: logits \(logits.shape), features \(features.shape), \(targets.count) targets")
        let b = logits.shape[0], c = logits.shape[1], d = features.shape[1]
        let gradLogits = Tensor.zeros([b, c]), gradFeatures = Tensor.zeros([b, d])
        var value: Float = 0
        var message = [CChar](repeating: 0, count: 512)
        let targets64 = targets.map(Int64.init)
        let status: Int32 = targets64.withUnsafeBufferPointer { tp in
            var input = cil_loss_term_input(
                struct_size: UInt32(MemoryLayout<cil_loss_term_input>.size), batch: Int64(b), classes: Int64(c),
                old_classes: Int64(oldClasses), feature_dim: Int64(d), phase: Int64(phase),
                logits: logits.storage.pointer, features: features.storage.pointer,
                old_logits: oldLogits.map { UnsafePointer($0.storage.pointer) },
                old_features: oldFeatures.map { UnsafePointer($0.storage.pointer) },
                targets: tp.baseAddress)
            return message.withUnsafeMutableBufferPointer { mp in
                function(&input, &value, gradLogits.storage.pointer, gradFeatures.storage.pointer, userData,
                         mp.baseAddress, mp.count)
            }
        }
        guard status == 0 else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PluginError.failed(plugin: plugin, reason: "loss term failed (status \(status))\(text.isEmpty ? "" : ": \(text)")")
        }
        guard value.isFinite else {
            throw PluginError.failed(plugin: plugin, reason: "loss term returned a non-finite value \(value)")
        }
        return Tensor.result("lossTerm(\(plugin))", shape: [], storage: TensorStorage([value]),
                             inputs: [logits, features]) { g in
            let s = g.item
            return [gradLogits * s, gradFeatures * s]
        }
    }
}
