/// A building block of a network: owns parameters (trainable or frozen tensors),
/// buffers (non-trained state such as BN running statistics) and child layers.
///
/// Conformers list only their own tensors and children; the recursive listings,
/// with dotted names (`layer1.0.conv1.weight`), come from the extension.
public protocol Layer: AnyObject {
    /// Own parameters by local name (trainable iff `requiresGrad`).
    var localParameters: [(String, Tensor)] { get }
    /// Own buffers by local name.
    var localBuffers: [(String, Tensor)] { get }
    /// Child layers by local name.
    var children: [(String, any Layer)] { get }
    /// Training mode (batch statistics in BN) or evaluation mode.
    var isTraining: Bool { get set }
}

extension Layer {
    public var localParameters: [(String, Tensor)] { [] }
    public var localBuffers: [(String, Tensor)] { [] }
    public var children: [(String, any Layer)] { [] }

    /// Every parameter of this layer and its descendants, with dotted names, in a
    /// stable order (own first, then children in order). A child with an empty
    /// name adds no name component.
    public func namedParameters(prefix: String = "") -> [(String, Tensor)] {
        localParameters.map { (prefix + $0.0, $0.1) }
            + children.flatMap { $0.1.namedParameters(prefix: Self.childPrefix(prefix, $0.0)) }
    }

    /// Every buffer of this layer and its descendants, with dotted names.
    public func namedBuffers(prefix: String = "") -> [(String, Tensor)] {
        localBuffers.map { (prefix + $0.0, $0.1) }
            + children.flatMap { $0.1.namedBuffers(prefix: Self.childPrefix(prefix, $0.0)) }
    }

    private static func childPrefix(_ prefix: String, _ name: String) -> String {
        name.isEmpty ? prefix : prefix + name + "."
    }

    /// The parameters that train (`requiresGrad`).
    public var trainableParameters: [Tensor] { namedParameters().map(\.1).filter(\.requiresGrad) }

    /// Number of trainable scalars.
    public var trainableParameterCount: Int { trainableParameters.reduce(0) { $0 + $1.count } }

    /// Sets training or evaluation mode on this layer and all descendants.
    public func setTraining(_ on: Bool) {
        isTraining = on
        for (_, c) in children { c.setTraining(on) }
    }

    /// Freezes (or unfreezes) every parameter: frozen tensors get no gradient.
    public func setRequiresGrad(_ on: Bool) {
        for (_, p) in namedParameters() { p.requiresGrad = on }
    }
}
