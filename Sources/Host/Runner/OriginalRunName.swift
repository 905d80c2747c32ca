/// The run directory of a `cil run` without `--out`: the folder name the original code
/// gives a run (AAN `trainer/base_trainer.py` `set_save_path`), under `logs/`:
///
///     logs/{dataset}_nfg{nb_cl_fg}_ncls{nb_cl}_nproto{nb_protos}_{baseline}_{branch_mode}
///         _b1{branch_1}[_b2{branch_2}, dual only]_{dynamic|fixed}_{ckpt_label}
///
/// `dataset` as the command gave it (`cifar100`, `imagenet_sub`, ...); `ckpt_label`
/// defaults to the original's `exp01`. The same command therefore names the same
/// directory, and resumes it.
enum OriginalRunName {
    static let defaultLabel = "exp01"

    static func directory(dataset: String, config: RunConfiguration, ckptLabel: String?) -> String {
        var name = "\(dataset)_nfg\(config.nbClFg)_ncls\(config.nbCl)_nproto\(config.budgetPerClass)"
            + "_\(config.baseline)_\(config.branchMode.rawValue)_b1\(config.branch1)"
        if config.branchMode == .dual { name += "_b2\(config.branch2)" }
        name += "_" + config.budget.rawValue
        name += "_\(ckptLabel ?? defaultLabel)"
        return "logs/" + name
    }
}
