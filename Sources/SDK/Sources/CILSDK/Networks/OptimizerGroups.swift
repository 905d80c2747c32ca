/// The network optimizer's parameter groups of a phase (docs/ALGORITHMS.md §3.3).
///
/// Phase 0: one group with every trainable tensor (`base_lr1`, weight decay).
/// Phase >= 1: the groups each branch type gives for its blocks, then the head:
/// old-class rows are frozen (no group); new-class rows and σ train with
/// - `faithful`: the learning rate and decay of branch 1's first group, as in the
///   original code where they share branch 1's group (so with `branch_1 = fixed`
///   they stay at their imprinted values, §3.3);
/// - `corrected`: the phase's base learning rate and decay.
public enum OptimizerGroups {
    public static func make(for network: AggregatedNetwork, learningRate: Float, weightDecay: Float,
                            mode: FidelityMode, momentum: Float = 0.9) -> [ParameterGroup] {
        let headTrainable = network.head.parameterRoles.filter { $0.role != .oldClasses && $0.tensor.requiresGrad }.map(\.tensor)
        guard let types = network.branchTypes else {
            let blocks = network.stable.flatMap(\.trainableParameters)
            return [ParameterGroup(name: "network", parameters: blocks + headTrainable,
                                   learningRate: learningRate, weightDecay: weightDecay, momentum: momentum)]
        }
        var groups: [ParameterGroup] = []
        for (k, block) in network.stable.enumerated() {
            groups += types.stable.parameterGroups(for: block, level: k + 1, learningRate: learningRate, weightDecay: weightDecay)
        }
        if let plastic = network.plastic, let plasticType = types.plastic {
            for (k, block) in plastic.enumerated() {
                groups += plasticType.parameterGroups(for: block, level: k + 1, learningRate: learningRate, weightDecay: weightDecay)
            }
        }
        for i in groups.indices { groups[i].momentum = momentum }
        let stableLead = groups.first
        let headLR = mode == .faithful ? (stableLead?.learningRate ?? learningRate) : learningRate
        let headWD = mode == .faithful ? (stableLead?.weightDecay ?? weightDecay) : weightDecay
        groups.append(ParameterGroup(name: "head", parameters: headTrainable, learningRate: headLR,
                                     weightDecay: headWD, momentum: momentum))
        return groups
    }
}
