import ArgumentParser
import CILSDK
import Foundation

/// `cil compare`: every baseline plain and on MANets (or any arms) under one
/// protocol, each arm in its own process; writes comparison.{md,csv,json,svg} and
/// index.html. Re-running the same command resumes unfinished arms. With `--slurm`
/// the arms become Slurm job arrays (`SlurmSubmission`); `--collect DIR` gathers
/// their results (`SlurmCollector`).
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run baselines × arms × seeds under one protocol and write tables and a plot of the differences.",
        discussion: """
        Give an experiment file (YAML; keys are `cil run` option names, plus baselines, arms \
        and seeds) or the same as flags: --baselines icarl,lucir,podnet --arm plain:branch_mode=single,branch_1=free \
        --seeds 1993 and any `cil run` option after `--`. Without --arm the arms are plain \
        (single/free) and manets (dual/ss/free). --slurm submits the grid to Slurm as job arrays \
        (a phase-0 array, then one task per arm and seed after it); --collect DIR writes the \
        comparison from the finished runs and lists missing or failed cells with their Slurm state.
        """)

    @Argument(help: "An experiment file (YAML).")
    var experimentFile: String?

    @Option(help: "The comparison directory (runs/ and the reports go there).")
    var out: String?

    @Option(help: "Arms run in parallel (each in its own process with cores/jobs threads).")
    var jobs: Int = 1

    @Option(help: "Baselines, comma-separated (without an experiment file).")
    var baselines: String?

    @Option(name: .customLong("arm"), help: ArgumentHelp("An arm NAME:OPTION=VALUE,...; repeatable (without an experiment file).", valueName: "arm"))
    var arms: [String] = []

    @Option(help: "Seeds, comma-separated (without an experiment file).")
    var seeds: String?

    @Option(name: .customLong("seed-varies"),
            help: "What each seed sets: order-and-training (default: class order and training, as --random_seed) or training (the class order of --seed, default 1993, for every run; each seed is --train-seed). Overrides the experiment file's seed_varies.")
    var seedVaries: String?

    @Flag(help: "Submit the grid to Slurm as job arrays instead of running it here (scripts and jobs.json in OUT/slurm/).")
    var slurm = false

    @Flag(name: .customLong("dry-run"), help: "With --slurm: only write the job scripts (and OUT/slurm/submit.sh), submit nothing.")
    var dryRun = false

    @Option(help: "With --slurm: the partition (sbatch --partition).")
    var partition: String?

    @Option(help: "With --slurm: the time limit of each task (sbatch --time, e.g. 12:00:00).")
    var time: String?

    @Option(name: .customLong("cpus-per-task"), help: "With --slurm: CPUs of each task, also its engine threads (default 1).")
    var cpusPerTask: Int?

    @Option(help: "With --slurm: memory of each task (sbatch --mem, e.g. 8G).")
    var mem: String?

    @Option(name: .customLong("sbatch-option"), help: ArgumentHelp("With --slurm: another sbatch option for every task, e.g. --sbatch-option=--account=lab; repeatable.", valueName: "option"))
    var sbatchOptions: [String] = []

    @Option(help: ArgumentHelp("Gather the runs of a comparison submitted with --slurm into its comparison outputs; list missing or failed cells.", valueName: "dir"))
    var collect: String?

    @OptionGroup var directories: PluginDirectoryOptions

    @Argument(parsing: .postTerminator, help: "`cil run` options shared by every run (after --).")
    var runOptions: [String] = []

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        if collect != nil {
            guard out == nil, experimentFile == nil, !slurm, baselines == nil, arms.isEmpty, seeds == nil, runOptions.isEmpty else {
                throw ValidationError("--collect DIR takes no experiment, --out, --slurm or run options: it reads DIR/slurm/jobs.json")
            }
            return
        }
        guard out != nil else { throw ValidationError("give --out DIR (or --collect DIR)") }
        let slurmOnly = [dryRun ? "--dry-run" : nil, partition.map { _ in "--partition" }, time.map { _ in "--time" },
                         cpusPerTask.map { _ in "--cpus-per-task" }, mem.map { _ in "--mem" },
                         sbatchOptions.isEmpty ? nil : "--sbatch-option"].compactMap { $0 }
        if !slurm, let first = slurmOnly.first { throw ValidationError("\(first) needs --slurm") }
        if slurm, jobs != 1 { throw ValidationError("--jobs is for local runs; with --slurm give --cpus-per-task") }
        if let cpusPerTask, cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be at least 1, got \(cpusPerTask)") }
        if RunOptionList.lastValue(of: "--phase0-from", in: runOptions) != nil { throw Self.sharedPhaseZeroIsOurs }
    }

    /// A comparison gives `--phase0-from` to its own arms (the first arm's directory).
    static let sharedPhaseZeroIsOurs = ValidationError(
        "cil compare shares each group's phase 0 by itself (--phase0-from the first arm's run directory), so its runs take no --phase0-from; to start every arm's phase 0 from a file's weights, give -- --init-from FILE")

    /// The experiment of the file or the flags, with `--seed-varies` applied.
    func makeExperiment() throws -> Experiment {
        var experiment = try readExperiment()
        if let seedVaries {
            guard let value = Experiment.SeedVaries(rawValue: seedVaries) else {
                throw ValidationError("--seed-varies \(seedVaries): expected one of \(Experiment.SeedVaries.allowed)")
            }
            experiment.seedVaries = value
        }
        return experiment
    }

    private func readExperiment() throws -> Experiment {
        if let experimentFile {
            guard baselines == nil, arms.isEmpty, seeds == nil else {
                throw ValidationError("give either an experiment file or --baselines/--arm/--seeds, not both")
            }
            return try Experiment.load(path: experimentFile)
        }
        let names = (baselines ?? DefaultPlugins.comparisonBaselines.joined(separator: ",")).split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let seedList = try (seeds ?? "1993").split(separator: ",").map { text -> Int in
            guard let s = Int(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds \(seeds!): expected integers") }
            return s
        }
        var armList = Experiment.defaultArms
        if !arms.isEmpty {
            armList = try arms.map { spec in
                guard let colon = spec.firstIndex(of: ":") else { throw ValidationError("--arm \(spec): expected NAME:OPTION=VALUE,...") }
                let options = try spec[spec.index(after: colon)...].split(separator: ",").map { pair -> (String, String) in
                    guard let eq = pair.firstIndex(of: "=") else { throw ValidationError("--arm \(spec): '\(pair)' is not OPTION=VALUE") }
                    return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
                }
                return (String(spec[..<colon]), options)
            }
        }
        return Experiment(baselines: names, arms: armList, seeds: seedList, common: [])
    }

    func run() throws {
        if let collect { return try collectSlurmRuns(URL(fileURLWithPath: collect)) }
        guard let out else { throw ValidationError("give --out DIR") }
        var experiment = try makeExperiment()
        let phaseZeroKeys: Set<String> = ["phase0_from", "phase0-from"]
        if (experiment.common + experiment.arms.flatMap(\.options)).contains(where: { phaseZeroKeys.contains($0.0) }) {
            throw Self.sharedPhaseZeroIsOurs
        }
        let runOptions = resolvingAutoDataset(in: &experiment)
        let directory = URL(fileURLWithPath: out).standardizedFileURL
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var plan = ComparisonPlan(experiment: experiment, directory: directory,
                                  pluginDirs: directories.pluginDirs.map { URL(fileURLWithPath: $0).standardizedFileURL.path },
                                  extraArguments: runOptions)
        plan.phaseZeroKeys = ComparisonPlan.recipeKeys(of: experiment, catalog: PluginLoader.loadAll(pluginDirs: directories.pluginDirs))
        let log = { (line: String) in FileHandle.standardError.write(Data("cil compare: \(line)\n".utf8)) }
        if slurm {
            try submitToSlurm(plan, log: log)
        } else {
            try runHere(plan, log: log)
        }
    }

    /// `--collect DIR`: the comparison of the Slurm runs so far; exit 1 while cells are missing or failed.
    func collectSlurmRuns(_ directory: URL) throws {
        let report = try SlurmCollector(directory: directory).collect()
        print(report.markdown)
        print("\nWritten: \(directory.appendingPathComponent("index.html").path)")
        if !report.failures.isEmpty {
            FileHandle.standardError.write(Data("cil compare --collect: \(report.failures.count) cells missing or failed (listed under \"Failed or unfinished runs\")\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The run options after `--`, with `dataset: auto` resolved once into the
    /// experiment so that every arm uses the same data. Options after `--` come last
    /// on each run's command line, so they win over the file.
    func resolvingAutoDataset(in experiment: inout Experiment) -> [String] {
        var runOptions = self.runOptions
        let fileDataset = experiment.common.last { $0.0 == "dataset" }?.1
        if (RunOptionList.lastValue(of: "--dataset", in: runOptions) ?? fileDataset) == "auto" {
            let dir = RunOptionList.lastValue(of: "--data-dir", in: runOptions)
                ?? experiment.common.last { $0.0 == "data_dir" || $0.0 == "data-dir" }?.1
            let (name, notice) = DatasetAuto.resolve(dataDir: dir)
            if let notice { FileHandle.standardError.write(Data("cil compare: \(notice)\n".utf8)) }
            runOptions = RunOptionList.removing("--dataset", from: runOptions)
            experiment.common.removeAll { $0.0 == "dataset" }
            experiment.common.append(("dataset", name))
        }
        return runOptions
    }

    /// `--slurm`: the job arrays of the unfinished cells, submitted (or only written with --dry-run).
    func submitToSlurm(_ plan: ComparisonPlan, log: (String) -> Void) throws {
        let resources = SlurmResources(partition: partition, time: time, cpusPerTask: cpusPerTask ?? 1, mem: mem, extra: sbatchOptions)
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let outcome = try SlurmSubmission(plan: plan, resources: resources, executable: executable, dryRun: dryRun).submit(log: log)
        if let job = outcome.armsJob {
            print("Submitted: \(outcome.phaseZeroJob.map { "phase-0 job \($0), then " } ?? "")arm job \(job) (\(outcome.armTasks) tasks). When they are done: cil compare --collect \(plan.directory.path)")
        } else if outcome.armTasks == 0 {
            print("Every cell is finished. Write the comparison with: cil compare --collect \(plan.directory.path)")
        } else {
            print("Written (not submitted): \(outcome.scripts.joined(separator: " "))")
        }
    }

    /// Every arm here, `--jobs` at a time, then the comparison; exit 1 if a run failed.
    func runHere(_ plan: ComparisonPlan, log: (String) -> Void) throws {
        let directory = plan.directory, experiment = plan.experiment
        // One local comparison at a time in a directory, locked before anything in it is
        // written (the arms lock their own run directories, in their own processes).
        if case let .unsupported(reason) = try DirectoryLock.acquire(directory, kind: "comparison directory") {
            log("warning: \(reason); nothing keeps another cil process out of \(directory.path)")
        }
        // The arm order (the first arm is the reference of the Δ columns), for `cil report`
        // while the comparison is still going and has no comparison.json yet.
        try writeAtomically(try JSONSerialization.data(withJSONObject: ["arms": experiment.arms.map(\.name)], options: [.prettyPrinted]),
                            to: directory.appendingPathComponent(ReportCommand.armOrderFile))
        let scheduler = ComparisonScheduler(plan: plan, jobs: jobs)
        // Report in the experiment's order (baselines as listed), not in finishing order.
        let order = experiment.baselines
        let runs = try scheduler.run(log: log).sorted {
            (order.firstIndex(of: $0.baseline) ?? order.count, $0.seed) < (order.firstIndex(of: $1.baseline) ?? order.count, $1.seed)
        }
        let report = ComparisonReport(runs: runs, armOrder: experiment.arms.map(\.name))
        try report.write(to: directory)
        print(report.markdown)
        print("\nWritten: \(directory.appendingPathComponent("index.html").path)")
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
