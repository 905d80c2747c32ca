/// The plugins the host names, all in this one table of defaults. Everything else the
/// host knows of a plugin comes from the plugin itself: its options, the original
/// code's flags it takes (`Baseline.originalFlags`) and its training policy.
enum DefaultPlugins {
    /// `cil run --baseline`.
    static let baseline = "lucir"
    /// A MANets arm's stable and plastic branch types (`--branch-1`, `--branch-2`).
    static let stableBranch = "ss"
    static let plasticBranch = "free"
    /// The plastic branch type of the `paper` preset on image folders (the original
    /// README's ImageNet-Subset commands pass `--branch_2=fixed`).
    static let imageFolderPlasticBranch = "fixed"
    /// The branch type of a plain (single-branch) arm.
    static let plainBranch = "free"
    /// The baselines of a comparison that names none.
    static let comparisonBaselines = ["icarl", "lucir", "podnet"]
}
