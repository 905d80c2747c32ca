import Foundation
import Testing

/// The command lines of the original MANets README, given to `cil run` as they are
/// (everything after `python3 main.py`), on tiny data. A few options appended after
/// each line cut the budget: phase 0 trains one epoch (`--epochs_fg=1`, which leaves
/// the line's `--epochs` in place), and the data directory is a fixture. Each resolved
/// configuration (`config.json` of the run directory the original would name) is
/// checked against the values the line sets, or the `paper` preset's values for the
/// line's dataset for the flags it leaves out (on ImageNet-Subset: lr 0.05 with a cosine
/// schedule, α steps at 29/60, the dynamic budget of 20 per class, λ_base 10).
///
/// The CIFAR-100 lines run phase 0 to the end (`--stop-after-phase=0`) on one image per
/// class. The ImageNet-Subset lines find their data where the line says, in the
/// original's layout (`./seed_1993_subset_100_imagenet/data` with train/ and val/,
/// relative to the working directory); a ResNet-18 phase 0 on 224-pixel crops would
/// take minutes even on one image per class, so each of these runs is stopped with
/// SIGTERM once it has started (data loaded, protocol and network set up, phase 0
/// entered), and must stop as an interrupted run does.
@Suite("cil run: the original README's command lines", .serialized)
struct OriginalCommandLinesTests {
    /// The original README's command lines, as printed there.
    static let lines = [
        "python3 main.py --nb_cl_fg=50 --nb_cl=10 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=icarl --branch_mode=dual --branch_1=ss --branch_2=free --dataset=cifar100 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=5 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=icarl --branch_mode=dual --branch_1=ss --branch_2=free --dataset=cifar100 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=2 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=icarl --branch_mode=dual --branch_1=ss --branch_2=free --dataset=cifar100 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=10 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=lucir --branch_mode=dual --branch_1=ss --branch_2=free --dataset=cifar100 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=5 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=lucir --branch_mode=dual --branch_1=ss --branch_2=free --dataset=cifar100 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=2 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=lucir --branch_mode=dual --branch_1=ss --branch_2=free --dataset=cifar100 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=10 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=icarl --imgnet_backbone=resnet18 --branch_mode=dual --branch_1=ss --branch_2=fixed --dataset=imagenet_sub --data_dir=./seed_1993_subset_100_imagenet/data --test_batch_size=50 --epochs=90 --num_workers=16 --custom_weight_decay=1e-4 --test_batch_size=50 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=5 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=icarl --imgnet_backbone=resnet18 --branch_mode=dual --branch_1=ss --branch_2=fixed --dataset=imagenet_sub --data_dir=./seed_1993_subset_100_imagenet/data --test_batch_size=50 --epochs=90 --num_workers=16 --custom_weight_decay=1e-4 --test_batch_size=50 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=2 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=icarl --imgnet_backbone=resnet18 --branch_mode=dual --branch_1=ss --branch_2=fixed --dataset=imagenet_sub --data_dir=./seed_1993_subset_100_imagenet/data --test_batch_size=50 --epochs=90 --num_workers=16 --custom_weight_decay=1e-4 --test_batch_size=50 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=10 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=lucir --imgnet_backbone=resnet18 --branch_mode=dual --branch_1=ss --branch_2=fixed --dataset=imagenet_sub --data_dir=./seed_1993_subset_100_imagenet/data --test_batch_size=50 --epochs=90 --num_workers=16 --custom_weight_decay=1e-4 --test_batch_size=50 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=5 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=lucir --imgnet_backbone=resnet18 --branch_mode=dual --branch_1=ss --branch_2=fixed --dataset=imagenet_sub --data_dir=./seed_1993_subset_100_imagenet/data --test_batch_size=50 --epochs=90 --num_workers=16 --custom_weight_decay=1e-4 --test_batch_size=50 --ckpt_label=Exp_01",
        "python3 main.py --nb_cl_fg=50 --nb_cl=2 --gpu=0 --random_seed=1993 --fusion_lr=1e-05 --baseline=lucir --imgnet_backbone=resnet18 --branch_mode=dual --branch_1=ss --branch_2=fixed --dataset=imagenet_sub --data_dir=./seed_1993_subset_100_imagenet/data --test_batch_size=50 --epochs=90 --num_workers=16 --custom_weight_decay=1e-4 --test_batch_size=50 --ckpt_label=Exp_01",
    ]

    /// The words after `python3 main.py`.
    static func arguments(_ line: String) -> [String] {
        Array(line.split(separator: " ").map(String.init).dropFirst(2))
    }

    /// The line's `--name=value` flags by name (the last occurrence wins, as in
    /// argparse); a flag without a value maps to "".
    static func flags(_ line: String) -> [String: String] {
        var out: [String: String] = [:]
        for word in arguments(line) where word.hasPrefix("--") {
            let body = word.dropFirst(2)
            if let eq = body.firstIndex(of: "=") { out[String(body[..<eq])] = String(body[body.index(after: eq)...]) } else { out[String(body)] = "" }
        }
        return out
    }

    /// The values the `paper` preset gives the flags the lines leave out, on CIFAR-100
    /// (the original main.py's defaults) and on ImageNet-Subset (docs/ALGORITHMS.md §1.7).
    static func presetValues(imageNet: Bool) -> [String: String] {
        ["nb_protos": "20", "test_batch_size": imageNet ? "50" : "100", "epochs": imageNet ? "90" : "160",
         "custom_weight_decay": imageNet ? "0.0001" : "0.0005", "base_lr1": imageNet ? "0.05" : "0.1",
         "base_lr2": imageNet ? "0.05" : "0.1", "ckpt_label": "exp01"]
    }

    /// The run directory the original names for the line's settings
    /// (`{dataset}_nfg…_ncls…_nproto…_{baseline}_{branch_mode}_b1…_b2…_{fixed|dynamic}_{ckpt_label}`).
    /// The budget is the one that runs: dynamic with `--dynamic_budget`, and in the
    /// paper preset on ImageNet-Subset.
    static func runDirectory(_ f: [String: String]) -> String {
        let value = { (flag: String) in f[flag] ?? presetValues(imageNet: isImageNet(f))[flag]! }
        return "logs/\(f["dataset"]!)_nfg\(f["nb_cl_fg"]!)_ncls\(f["nb_cl"]!)_nproto\(value("nb_protos"))_\(f["baseline"]!)"
            + "_\(f["branch_mode"]!)_b1\(f["branch_1"]!)_b2\(f["branch_2"]!)_\(budget(f))_\(value("ckpt_label"))"
    }

    static func isImageNet(_ f: [String: String]) -> Bool { f["dataset"]!.hasPrefix("imagenet") }
    static func budget(_ f: [String: String]) -> String { f["dynamic_budget"] != nil || isImageNet(f) ? "dynamic" : "fixed" }

    static func temporaryDirectory() throws -> URL {
        URL(fileURLWithPath: try DataFixtures.temporaryDirectory("cil-original-lines"))
    }

    /// CIFAR-100 binary files with one training and one test image per class.
    static func cifarFixture(in dir: URL) throws -> String {
        let root = dir.appendingPathComponent("cifar").path
        try DataFixtures.cifarFolder(in: root, train: Array(0 ..< 100), test: Array(0 ..< 100))
        return root
    }

    /// An image folder of 100 classes (ImageNet-style wnid names) with one 8×8 PNG in
    /// each class of train/ and val/.
    static func imageFolderFixture(at root: URL) throws {
        for split in ["train", "val"] {
            for c in 0 ..< 100 {
                let png = DataFixtures.png(width: 8, height: 8) { x, y in (UInt8(c * 2 + x), UInt8(c * 7 % 256), UInt8((c * 13 + y) % 256)) }
                try DataFixtures.write(png, to: root.appendingPathComponent("\(split)/n\(String(format: "%08d", 1000 + c))/\(split)_\(c).png").path)
            }
        }
    }

    /// Starts `cil arguments...` in `directory`, waits until the run's `events.jsonl`
    /// (in `runDirectory`) records the start, sends SIGTERM and waits for the exit.
    static func startThenStop(_ arguments: [String], in directory: URL, runDirectory: String) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let events = directory.appendingPathComponent(runDirectory).appendingPathComponent("events.jsonl").path
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            if let text = try? String(contentsOfFile: events, encoding: .utf8), text.contains("\"event\":\"start\"") { break }
            usleep(10_000)
        }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr)
    }

    static func config(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("config.json"))) as! [String: Any]
    }

    /// The resolved configuration against what the line sets (`f`), or the original's
    /// defaults for what it leaves out; `dataDir` is where the data was found.
    static func check(_ c: [String: Any], line f: [String: String], dataDir: String, sourceLocation: SourceLocation = #_sourceLocation) {
        func int(_ key: String) -> Int? { c[key] as? Int }
        func number(_ key: String) -> Double? { (c[key] as? NSNumber)?.doubleValue }
        func close(_ a: Double?, _ b: String) -> Bool { a.map { abs($0 - Double(b)!) <= 1e-6 * abs(Double(b)!) } ?? false }
        let imageNet = isImageNet(f)
        let value = { (flag: String) in f[flag] ?? presetValues(imageNet: imageNet)[flag]! }
        #expect(c["dataset"] as? String == (imageNet ? "imagefolder" : f["dataset"]), sourceLocation: sourceLocation)
        #expect(c["dataDir"] as? String == dataDir, sourceLocation: sourceLocation)
        #expect(int("nbClFg") == Int(f["nb_cl_fg"]!) && int("nbCl") == Int(f["nb_cl"]!), sourceLocation: sourceLocation)
        #expect(int("classOrderSeed") == Int(f["random_seed"]!), sourceLocation: sourceLocation)
        #expect(c["baseline"] as? String == f["baseline"] && c["branchMode"] as? String == f["branch_mode"], sourceLocation: sourceLocation)
        #expect(c["branch1"] as? String == f["branch_1"] && c["branch2"] as? String == f["branch_2"], sourceLocation: sourceLocation)
        #expect(close(number("fusionLR"), f["fusion_lr"]!), "fusionLR \(c["fusionLR"] ?? "none")", sourceLocation: sourceLocation)
        // The original's CIFAR network is always ResNet-32; --imgnet_backbone is its ImageNet network.
        #expect(c["backbone"] as? String == (imageNet ? (f["imgnet_backbone"] ?? "resnet18") : "resnet32"), sourceLocation: sourceLocation)
        #expect(int("testBatchSize") == Int(value("test_batch_size")), sourceLocation: sourceLocation)
        #expect(int("epochs") == Int(value("epochs")), sourceLocation: sourceLocation)
        #expect(int("epochsFirst") == 1, "the appended --epochs_fg=1", sourceLocation: sourceLocation)
        #expect(close(number("weightDecay"), value("custom_weight_decay")), "weightDecay \(c["weightDecay"] ?? "none")", sourceLocation: sourceLocation)
        #expect(close(number("baseLR1"), value("base_lr1")) && close(number("baseLR2"), value("base_lr2")),
                "lr \(c["baseLR1"] ?? "none") / \(c["baseLR2"] ?? "none")", sourceLocation: sourceLocation)
        // ImageNet: a cosine network schedule and α's MultiStep at epochs·0.333 and
        // epochs·0.667 (29 and 60 of 90); CIFAR: MultiStep at epochs·0.5 and 0.75 for both.
        #expect(c["schedule"] as? String == (imageNet ? "cosine" : "multistep"), sourceLocation: sourceLocation)
        #expect((c["milestoneFractions"] as? [Double]) == (imageNet ? [0.333, 0.667] : [0.5, 0.75]), sourceLocation: sourceLocation)
        // CIFAR without --dynamic_budget: the fixed budget of 100 × nb_protos in total;
        // ImageNet-Subset: 20 per class.
        #expect(c["budget"] as? String == budget(f), sourceLocation: sourceLocation)
        #expect(int("budgetPerClass") == Int(value("nb_protos")) && int("budgetTotal") == 100 * Int(value("nb_protos"))!, sourceLocation: sourceLocation)
        // The lines pass none of the method flags (the_lambda, dist, K, lw_mr, icarl_T,
        // icarl_beta): each baseline takes its own defaults, but on ImageNet-Subset the
        // preset passes --the_lambda 10, which only LUCIR takes (its λ_base).
        #expect(["the_lambda", "dist", "K", "lw_mr", "icarl_T", "icarl_beta"].allSatisfy { f[$0] == nil }, sourceLocation: sourceLocation)
        let expectedOptions = imageNet && f["baseline"] == "lucir" ? ["lambda-base": "10.0"] : [:]
        #expect((c["baselineOptions"] as? [String: String]) == expectedOptions, "\(c["baselineOptions"] ?? "none")", sourceLocation: sourceLocation)
    }

    /// Phases after phase 0: (100 classes − nb_cl_fg) / nb_cl.
    static func laterPhases(_ f: [String: String]) -> Int { (100 - Int(f["nb_cl_fg"]!)!) / Int(f["nb_cl"]!)! }

    @Test("a CIFAR-100 line resolves as it says and trains phase 0", arguments: 0 ..< 6)
    func cifarLine(index: Int) throws {
        let line = Self.lines[index], f = Self.flags(line)
        try #require(f["dataset"] == "cifar100")
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.cifarFixture(in: dir)
        let out = try CommandRunner.run(["run"] + Self.arguments(line) + ["--data_dir=\(data)", "--epochs_fg=1", "--stop-after-phase=0"],
                                        directory: dir)
        #expect(out.status == 0, "line \(index + 1): \(out.stderr)")
        let name = Self.runDirectory(f)
        #expect(out.stderr.contains("the run directory is \(name) "), "line \(index + 1): \(out.stderr)")
        #expect(out.stderr.contains("--gpu is ignored"), "\(out.stderr)")
        // Phase 0 of 1 + (100 − 50) / nb_cl phases: 50 classes.
        #expect(out.stderr.contains("phase 0/\(Self.laterPhases(f)) done: \(f["nb_cl_fg"]!) classes"), "line \(index + 1): \(out.stderr)")
        #expect(out.stdout.contains("stopped after phase 0"), "\(out.stdout)")
        let run = dir.appendingPathComponent(name)
        Self.check(try Self.config(run), line: f, dataDir: data)
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/phase-0.ckpt").path))
    }

    @Test("an ImageNet-Subset line finds its data in the original's layout, resolves as it says and starts", arguments: 6 ..< 12)
    func imageNetSubsetLine(index: Int) throws {
        let line = Self.lines[index], f = Self.flags(line)
        try #require(f["dataset"] == "imagenet_sub")
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Where the line's --data_dir points, from the working directory.
        try Self.imageFolderFixture(at: dir.appendingPathComponent(f["data_dir"]!))
        // A batch of 2 makes the first batch quick to finish once the signal has arrived.
        let arguments = ["run"] + Self.arguments(line) + ["--epochs_fg=1", "--train_batch_size=2"]
        let name = Self.runDirectory(f)
        let out = try Self.startThenStop(arguments, in: dir, runDirectory: name)
        #expect(out.status == 128 + SIGTERM, "line \(index + 1): status \(out.status); \(out.stderr)")
        #expect(out.stderr.contains("the run directory is \(name) "), "line \(index + 1): \(out.stderr)")
        #expect(out.stderr.contains("--gpu is ignored") && out.stderr.contains("--num_workers is ignored"), "\(out.stderr)")
        #expect(out.stderr.contains("run stopped: interrupted by SIGTERM"), "line \(index + 1): \(out.stderr)")
        #expect(out.stderr.contains("before phase 0") || out.stderr.contains("in phase 0, epoch 1"), "line \(index + 1): \(out.stderr)")
        Self.check(try Self.config(dir.appendingPathComponent(name)), line: f, dataDir: f["data_dir"]!)
    }

    /// Pasted where the data is not, a line fails naming the folder it looked in and
    /// leaves no configuration in the run directory, so the same line with the data
    /// directory appended (a repeated option: the last one counts) starts in it.
    @Test func aLineWithoutItsDataFailsAndTheCorrectedLineStarts() throws {
        let line = Self.lines[9], f = Self.flags(line)
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = Self.runDirectory(f)
        let missing = try CommandRunner.run(["run"] + Self.arguments(line), directory: dir)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("seed_1993_subset_100_imagenet/data/train"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(name)/config.json").path))

        let data = dir.appendingPathComponent("elsewhere/imagenet-subset")
        try Self.imageFolderFixture(at: data)
        let out = try Self.startThenStop(["run"] + Self.arguments(line) + ["--data_dir=\(data.path)", "--epochs_fg=1", "--train_batch_size=2"],
                                         in: dir, runDirectory: name)
        #expect(out.status == 128 + SIGTERM && out.stderr.contains("run stopped: interrupted by SIGTERM"), "status \(out.status); \(out.stderr)")
        Self.check(try Self.config(dir.appendingPathComponent(name)), line: f, dataDir: data.path)
    }

    /// `--imgnet_backbone` is the original's ImageNet network only: on CIFAR-100 the
    /// network stays ResNet-32, as in the original, with a note.
    @Test func imgnetBackboneIsIgnoredOnCIFAR() throws {
        let line = Self.lines[0], f = Self.flags(line)
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.cifarFixture(in: dir)
        let name = Self.runDirectory(f)
        let out = try Self.startThenStop(["run"] + Self.arguments(line) + ["--imgnet_backbone=resnet18", "--data_dir=\(data)", "--epochs_fg=1"],
                                         in: dir, runDirectory: name)
        #expect(out.status == 128 + SIGTERM, "status \(out.status); \(out.stderr)")
        #expect(out.stderr.contains("--imgnet_backbone resnet18 is ignored on cifar100"), "\(out.stderr)")
        #expect(try Self.config(dir.appendingPathComponent(name))["backbone"] as? String == "resnet32")
    }
}
