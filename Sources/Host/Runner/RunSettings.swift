import CILSDK

// The settings of a `RunConfiguration` that take one of a few values, besides the
// SDK's (`FidelityMode`, `BranchMode`, `ScheduleKind`, `AlphaGradientPolicy`,
// `SchedulerStepping`, `BackboneKind`, `Preprocessing`). `ArmOptions.resolve` parses
// each from its flag once; from there it travels as itself into config.json and every
// checkpoint header, encoded as its raw value, which is the flag's spelling.

/// `--budget`: how the exemplar memory is sized (docs/ALGORITHMS.md §1.4).
enum BudgetKind: String, Codable, CaseIterable {
    /// A total (`budgetTotal`) shared by the seen classes.
    case fixed
    /// A number per class (`budgetPerClass`); the total grows with the classes.
    case dynamic
}

extension RunConfiguration {
    /// The exemplar budget the configuration's kind and sizes describe.
    var exemplarBudget: ExemplarBudget {
        budget == .dynamic ? .dynamic(perClass: budgetPerClass) : .fixed(total: budgetTotal)
    }
}
