import CILSDK

/// What a run's phase 0 computes, as far as the baseline decides it: the baseline's
/// declared `Baseline.phaseZeroRecipe` for its options, or, when it declares none, its
/// own name and options (then it shares phase 0 with itself only, and only under the
/// same options). Two runs share a phase 0 when their keys are equal and every other
/// setting that phase 0 reads is equal too (`RunConfiguration.sharesPhaseZero`).
enum PhaseZeroRecipe {
    /// The key of `baseline` with its given options. A baseline the catalog lacks, or
    /// options it refuses, give the baseline's own key: the run then fails on its own
    /// terms, with the plugin's message.
    static func key(baseline: String, options given: [String: String], catalog: PluginCatalog) -> String {
        let own = "baseline \(baseline)" + given.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        guard let type = try? catalog.baseline(named: baseline),
              let options = try? PluginOptions(plugin: baseline, specs: type.options, given: given),
              let recipe = type.phaseZeroRecipe(options: options) else { return own }
        return "recipe \(recipe)"
    }

    /// The key of a run's configuration.
    static func key(of config: RunConfiguration, catalog: PluginCatalog) -> String {
        key(baseline: config.baseline, options: config.baselineOptions, catalog: catalog)
    }
}
