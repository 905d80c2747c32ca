/// How many blocks a level holds from phase 1 on.
public enum BranchMode: String, Sendable, Codable, CaseIterable {
    /// One block per level (branch 1), α fixed at 1: the plain baseline.
    case single
    /// A stable block (branch 1) and a plastic block (branch 2) per level, mixed
    /// with learned α: MANets.
    case dual
}

/// The network a CIL run trains (docs/ALGORITHMS.md §3.1-§3.2, §3.4): a backbone cut
/// into levels, each holding a stable block (branch 1) and, in dual mode from phase 1
/// on, a plastic block (branch 2), mixed as
///     x_k = α_k·B1_k(x_{k−1}) + (1 − α_k)·B2_k(x_{k−1}),
/// and a classifier head (branch 1's).
///
/// - Phase 0 always trains the plain network: one block per level, no α.
/// - `deriveBranches` (start of phase 1) makes each level's blocks from deep copies
///   of the trained phase-0 level through the branch types; from then on the stable
///   blocks keep their objects across phases and the plastic ones keep training.
/// - α: one raw scalar (shape [1], no sigmoid or clipping) per level, 0.5 at first in
///   dual mode and 1 in single mode, carried across phases.
public final class AggregatedNetwork: Layer {
    public let branchMode: BranchMode
    /// Branch-1 (stable) blocks, one per level; in phase 0 the plain network's levels.
    public private(set) var stable: [any LevelBlock]
    /// Branch-2 (plastic) blocks, one per level, in dual mode from phase 1 on.
    public private(set) var plastic: [any LevelBlock]?
    /// α per level, each shape [1].
    public let alphas: [Tensor]
    /// The classifier (branch 1's `fc`).
    public private(set) var head: any ClassifierHead
    /// The branch types the blocks were derived with (nil in phase 0).
    public private(set) var branchTypes: (stable: any BranchType, plastic: (any BranchType)?)?
    public let featureDimension: Int
    /// Classes of the head the network was built with (phase 0's), which the
    /// original code's branch-2 model keeps as its own, unused classifier.
    public let phaseZeroClassCount: Int
    public var isTraining = true

    /// The phase-0 network: `backbone`'s levels and `head`.
    public init(backbone: any Backbone, head: any ClassifierHead, branchMode: BranchMode) {
        precondition(head.featureDimension == backbone.featureDimension,
                     "AggregatedNetwork: head takes \(head.featureDimension)-d features, backbone gives \(backbone.featureDimension)")
        self.branchMode = branchMode
        stable = backbone.levelBlocks
        plastic = nil
        alphas = stable.map { _ in
            Tensor(shape: [1], repeating: branchMode == .dual ? 0.5 : 1, requiresGrad: branchMode == .dual)
        }
        self.head = head
        featureDimension = backbone.featureDimension
        phaseZeroClassCount = head.classCount
    }

    private init(branchMode: BranchMode, stable: [any LevelBlock], plastic: [any LevelBlock]?, alphas: [Tensor],
                 head: any ClassifierHead, featureDimension: Int, phaseZeroClassCount: Int) {
        self.branchMode = branchMode
        self.stable = stable
        self.plastic = plastic
        self.alphas = alphas
        self.head = head
        self.featureDimension = featureDimension
        self.phaseZeroClassCount = phaseZeroClassCount
    }

    /// Number of levels.
    public var levelCount: Int { stable.count }
    /// Whether the levels hold derived branches (phase >= 1).
    public var hasDerivedBranches: Bool { branchTypes != nil }

    public var localParameters: [(String, Tensor)] {
        plastic == nil ? [] : alphas.enumerated().map { ("alpha.\($0.offset)", $0.element) }
    }

    public var children: [(String, any Layer)] {
        stable.map { ("b1", $0) as (String, any Layer) } + (plastic ?? []).map { ("b2", $0) } + [("fc", head)]
    }

    /// Parameters of the blocks (not α, not the head).
    public var blockParameters: [Tensor] {
        (stable + (plastic ?? [])).flatMap { $0.namedParameters().map(\.1) }
    }

    /// Images -> logits, pooled features (global average of the last map) and every
    /// level's (aggregated) map.
    public func forward(_ x: Tensor) -> ModelOutputs {
        var h = x
        var maps: [Tensor] = []
        for k in 0..<levelCount {
            let a = stable[k](h)
            if let plastic {
                let b = plastic[k](h)
                h = alphas[k] * a + (1 - alphas[k]) * b
            } else {
                h = a
            }
            maps.append(h)
        }
        let features = h.globalAvgPool()
        let out = head.forward(features)
        return ModelOutputs(logits: out.logits, features: features, levelMaps: maps, headExtras: out.extras)
    }

    /// Start of phase 1: derives branch 1 (and in dual mode branch 2) of every level
    /// from deep copies of the trained phase-0 levels.
    public func deriveBranches(stable stableType: any BranchType, plastic plasticType: (any BranchType)?,
                               rng: inout RandomGenerator) throws {
        precondition(branchTypes == nil, "deriveBranches: the branches were derived already")
        precondition((plasticType != nil) == (branchMode == .dual),
                     "deriveBranches: dual mode needs a plastic branch type, single mode none")
        let phaseZero = stable
        var newStable: [any LevelBlock] = []
        var newPlastic: [any LevelBlock] = []
        for (k, level) in phaseZero.enumerated() {
            newStable.append(try stableType.derive(from: level.cloned(), level: k + 1, rng: &rng))
            if let plasticType {
                newPlastic.append(try plasticType.derive(from: level.cloned(), level: k + 1, rng: &rng))
            }
        }
        stable = newStable
        plastic = plasticType == nil ? nil : newPlastic
        branchTypes = (stableType, plasticType)
        setTraining(isTraining)
    }

    /// A deep copy in evaluation mode with every tensor frozen: the previous-phase
    /// reference model (its α are copied, `ref_fusion_vars`).
    public func frozenCopy() -> AggregatedNetwork {
        let copy = AggregatedNetwork(branchMode: branchMode, stable: stable.map { $0.cloned() },
                                     plastic: plastic?.map { $0.cloned() },
                                     alphas: alphas.map { $0.copy() }, head: head.cloned(),
                                     featureDimension: featureDimension, phaseZeroClassCount: phaseZeroClassCount)
        copy.branchTypes = branchTypes
        copy.setTraining(false)
        copy.setRequiresGrad(false)
        for a in copy.alphas { a.requiresGrad = false }
        return copy
    }

    /// Runs `body` with every block and head parameter frozen (no weight gradients
    /// are computed), restoring each tensor's flag afterwards. For the α pass.
    public func withFrozenWeights<R>(_ body: () throws -> R) rethrows -> R {
        let tensors = blockParameters + head.namedParameters().map(\.1)
        let flags = tensors.map(\.requiresGrad)
        for t in tensors { t.requiresGrad = false }
        defer { for (t, f) in zip(tensors, flags) { t.requiresGrad = f } }
        return try body()
    }
}
