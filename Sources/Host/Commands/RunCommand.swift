import ArgumentParser
import CILSDK
import Foundation

/// `cil run`: one arm (a baseline, plain or on MANets) through every phase of a
/// protocol, into a run directory; the same command on the same directory resumes.
/// Accepts the original code's option names (`--nb_cl_fg=50 --branch_1=ss ...`).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Train one arm (a baseline, plain or on MANets) through every phase; resumable.",
        discussion: """
        Defaults come from --preset (paper: docs/ALGORITHMS.md §1.7, 160 epochs on CIFAR-style \
        data and the ImageNet-Subset settings on image folders; quick: a reduced budget that \
        finishes in minutes); explicit flags override the preset. The \
        original code's underscore names are accepted (--nb_cl_fg, --branch_1, --fusion_lr, \
        --the_lambda, ...); --gpu and --num_workers are accepted and ignored; --ckpt_label names \
        the run directory when --out is not given.
        """)

    @OptionGroup var data: DatasetOptions
    @OptionGroup var directories: PluginDirectoryOptions
    @OptionGroup var arm: ArmOptions

    @Option(help: "The run directory (created; an existing one with the same configuration is resumed). Default: logs/NAME, the folder name the original code gives a run of these settings and --ckpt_label (default exp01).")
    var out: String?

    @Option(name: .customLong("phase0-from"),
            help: ArgumentHelp("""
                Phase 0 from PATH instead of training it. A run directory: reuse its finished phase 0 (same data, \
                protocol, baseline and phase-0 training). A .safetensors file: phase 0's network as a PyTorch state \
                dict (plain network, the original's names, the head scoring the phase-0 classes; see `cil export` \
                and docs/INTEROP.md), loaded strictly; then herding, evaluation and the checkpoint as usual. The \
                file's SHA-256 is part of the run's configuration.
                """, valueName: "path"))
    var phase0From: String?

    @Option(name: .customLong("init-from"),
            help: ArgumentHelp("""
                Phase 0 trains from the weights in this .safetensors file (a PyTorch state dict of the plain \
                phase-0 network, e.g. PyTorch-initialised or pre-trained) instead of a fresh initialisation. The \
                file's SHA-256 is part of the run's configuration; once phase 0 is finished the file is not read again.
                """, valueName: "file"))
    var initFrom: String?

    @Option(name: .customLong("stop-after-phase"),
            help: "Stop (exit 0) once phase N is finished; the same command without it continues the run (e.g. a Slurm job that trains only the shared phase 0).")
    var stopAfterPhase: Int?

    @Option(help: "Threads for the engine (default: all CPUs).")
    var threads: Int?

    @Flag(help: "No progress lines.")
    var quiet = false

    func validate() throws {
        if let stopAfterPhase, stopAfterPhase < 0 {
            throw ValidationError("--stop-after-phase must be 0 or more, got \(stopAfterPhase)")
        }
        if let initFrom, let phase0From {
            throw ValidationError("--init-from \(initFrom) and --phase0-from \(phase0From): give one (phase 0 either trains from a file or is taken from one)")
        }
    }

    func run() throws {
        let progress = RunProgress(quiet: quiet)
        for note in arm.ignoredNotes(outGiven: out != nil) { progress.note(note) }
        try Engine.configure(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let catalog = PluginLoader.loadAll(pluginDirs: directories.pluginDirs)
        for failure in catalog.failures { progress.note("warning: \(failure)") }
        var config = try arm.resolve(data: data, catalog: catalog) { progress.note($0) }
        let out = self.out ?? OriginalRunName.directory(dataset: data.dataset, config: config, ckptLabel: arm.ckptLabel)
        if self.out == nil {
            // Where the results go is worth a line even with --quiet.
            FileHandle.standardError.write(Data("cil: the run directory is \(out) (named as the original code names it; --out chooses another)\n".utf8))
        }
        let directory = RunDirectory(url: URL(fileURLWithPath: out))
        var phase0Directory = phase0From
        if let initFrom {
            config.phaseZeroWeights = try PhaseZeroWeights.resolve(.initialization, path: initFrom, directory: directory) { progress.note($0) }
        } else if let phase0From, PhaseZeroWeights.isWeightsFile(phase0From) {
            config.phaseZeroWeights = try PhaseZeroWeights.resolve(.trained, path: phase0From, directory: directory) { progress.note($0) }
            phase0Directory = nil
        }
        Interruption.install()
        PluginCrashReport.install()
        // A file-size limit (`ulimit -f`, set by some batch systems) then fails a
        // write with EFBIG, reported like a full disk, instead of killing the run.
        _ = signal(SIGXFSZ, SIG_IGN)
        let results: RunResults
        do {
            results = try RunLauncher.run(config: config, out: out, phase0From: phase0Directory, stopAfterPhase: stopAfterPhase,
                                          catalog: catalog, progress: progress)
        } catch let RunError.interrupted(sig, phase, epoch, batch) {
            // One line, even with --quiet: what stopped, what is kept, how to resume.
            let stopped = RunError.interrupted(signal: sig, phase: phase, epoch: epoch, batch: batch)
            let kept = phase == 0 ? "no phase finished yet" : phase == 1 ? "phase 0 is kept" : "phases 0-\(phase - 1) are kept"
            let inProgress = RunDirectory(url: URL(fileURLWithPath: out)).inProgressURL(phase: phase)
            let saved = (try? Checkpoint.load(from: inProgress))?.header.inProgress.map(\.epochsDone)
            let next = saved.map { "phase \(phase) resumes after epoch \($0)" } ?? "phase \(phase) restarts"
            FileHandle.standardError.write(Data(
                "cil: run stopped: \(stopped) (\(kept) in \(out); \(next)); resume with: \(Interruption.commandLine)\n".utf8))
            throw ExitCode(Interruption.exitStatus(for: sig))
        }
        if !results.complete {
            print("stopped after phase \(results.phases.count - 1) (--stop-after-phase); results so far in \((out as NSString).appendingPathComponent("results.json")); the same command without --stop-after-phase continues")
            return
        }
        print(String(format: "average incremental accuracy: CNN %.2f%%, NME %.2f%%; forgetting (CNN) %.2f points; results in %@",
                     100 * results.avg_inc_acc_cnn, 100 * results.avg_inc_acc_nme, 100 * results.forgetting_cnn,
                     (out as NSString).appendingPathComponent("results.json")))
    }
}

/// Starts or resumes a run directory.
enum RunLauncher {
    /// Runs every phase not yet checkpointed, or only up to `stopAfterPhase` (then
    /// the results are incomplete and the same call without it continues).
    static func run(config: RunConfiguration, out: String, phase0From: String?, stopAfterPhase: Int? = nil,
                    catalog: PluginCatalog, progress: RunProgress) throws -> RunResults {
        let directory = RunDirectory(url: URL(fileURLWithPath: out))
        // Locks the directory first: a second process on it is refused here, having changed
        // nothing. A file system without locks is worth a line even with --quiet.
        try directory.prepare { FileHandle.standardError.write(Data("cil: \($0)\n".utf8)) }
        let encoder = JSONEncoder.cil
        let existingData = FileManager.default.contents(atPath: directory.configURL.path)
        if let data = existingData {
            guard let existing = try? JSONDecoder().decode(RunConfiguration.self, from: data) else {
                throw RunError.configuration("\(directory.configURL.path) is not a cil run configuration; use another --out")
            }
            guard existing == config else {
                let differences = config.differences(from: existing)
                let diff = differences.prefix(8).joined(separator: "; ")
                throw RunError.configuration("\(directory.url.path) holds a run with a different configuration (\(diff)); use another --out or the same options"
                    + RunConfiguration.policyNote(differences, baseline: config.baseline))
            }
        }
        // Loads the data and sets up the protocol and plugins before a new directory
        // records its configuration: a run that cannot start (a wrong --data_dir, say)
        // leaves none behind, so the same directory takes the corrected command. This
        // matters most without --out, where the directory's name does not depend on
        // the data directory.
        let run = try IncrementalRun(config: config, directory: directory, catalog: catalog, progress: progress)
        if existingData == nil {
            try writeAtomically(try encoder.encode(config), to: directory.configURL)
            directory.log(["event": "created", "sdk": SDKInfo.version, "blas_core": BLAS.coreName])
        }
        if let source = phase0From, directory.lastCheckpointedPhase() == nil {
            try adoptPhaseZero(from: source, into: directory, config: config, catalog: catalog)
        }
        directory.log(["event": "start", "threads": Parallel.threads, "blas_core": BLAS.coreName])
        let results: RunResults
        do {
            results = try run.run(stopAfterPhase: stopAfterPhase)
        } catch let error as RunError {
            switch error {
            case let .interrupted(sig, phase, epoch, batch):
                directory.log(["event": "interrupted", "signal": SignalName.of(sig), "phase": phase, "epoch": epoch, "batch": batch])
            case let .diverged(message):
                directory.log(["event": "diverged", "message": message])
            default:
                directory.log(["event": "failed", "message": error.description])
            }
            throw error
        }
        guard results.complete else {
            directory.log(["event": "stopped", "after_phase": results.phases.count - 1])
            return results
        }
        directory.log(["event": "finished", "avg_inc_acc_cnn": results.avg_inc_acc_cnn, "avg_inc_acc_nme": results.avg_inc_acc_nme])
        return results
    }

    /// Copies another run's phase-0 checkpoint when both train the same phase 0 (the
    /// other run's baseline may differ if both declare the same phase-0 recipe).
    static func adoptPhaseZero(from source: String, into directory: RunDirectory, config: RunConfiguration,
                               catalog: PluginCatalog) throws {
        let sourceDirectory = RunDirectory(url: URL(fileURLWithPath: source))
        let url = sourceDirectory.checkpointURL(phase: 0)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunError.configuration("--phase0-from \(source): no such run directory or .safetensors file")
        }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw RunError.configuration("--phase0-from \(source): no finished phase 0 (\(url.path) is missing)")
        }
        var checkpoint = try Checkpoint.load(from: url)
        let trained = checkpoint.header.configuration.baseline
        guard checkpoint.header.configuration.sharesPhaseZero(with: config, catalog: catalog) else {
            let diff = config.differences(from: checkpoint.header.configuration).prefix(6).joined(separator: "; ")
            throw RunError.configuration("--phase0-from \(source): its phase 0 was trained differently (\(diff))")
        }
        // Phase 0 is the plain network whatever the arm; α starts at the arm's value.
        checkpoint.header.configuration = config
        let initialAlpha: Float = config.branchMode == .dual ? 0.5 : 1
        for (i, entry) in checkpoint.header.tensors.enumerated() where entry.name.hasPrefix("alpha.") && !entry.name.hasSuffix(".grad") {
            checkpoint.values[i] = [initialAlpha]
        }
        try writeAtomically(try checkpoint.encoded(), to: directory.checkpointURL(phase: 0))
        directory.log(["event": "phase0_adopted", "from": url.path, "baseline": trained])
    }
}
