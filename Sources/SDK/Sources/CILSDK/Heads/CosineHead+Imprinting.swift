extension CosineHead {
    /// The phase-start imprinting of LUCIR and the MANets iCaRL
    /// (docs/ALGORITHMS.md §2.4): the head of `context` must be a `CosineHead`; its new
    /// rows are imprinted from the training features of the phase's new classes
    /// (labels old..<seen).
    public static func imprintNewClasses(of context: PhaseStartContext, plugin: String) throws {
        guard let head = context.head as? CosineHead else {
            throw PluginError.failed(plugin: plugin, reason: "imprinting needs a CosineHead, the run's head is \(type(of: context.head))")
        }
        let labels = context.classes.old..<context.classes.seen
        head.imprint(newClassFeatures: try labels.map { try context.trainingFeatures($0) })
    }
}
