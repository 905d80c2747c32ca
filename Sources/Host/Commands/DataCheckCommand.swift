import ArgumentParser
import CILSDK
import Foundation

/// `cil data check`: reads a dataset completely, checks it, and prints its classes
/// and the number of images per split and per class. CIFAR-100: every record's
/// size and labels, and the files listed in a `SHA256SUMS` next to them if there is
/// one. Image folders: the class folders of both splits; `--decode` also decodes
/// every image. Any problem is an error naming the file (and byte offset).
struct DataCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify a dataset and print its classes and images per split and per class."
    )

    @OptionGroup var data: DatasetOptions

    @Flag(help: "imagefolder: decode every image (in parallel) instead of only listing the files.")
    var decode = false

    @Flag(help: "Print one JSON object.")
    var json = false

    /// What the check found besides the dataset itself.
    struct Findings {
        /// Images per class of the training and the test split.
        var train: [Int], test: [Int]
        var notes: [String] = []
        /// The files of a SHA256SUMS list, each "ok".
        var checksums: [String: String] = [:]
        /// Images decoded (with --decode).
        var decoded: Int?
    }

    func run() throws {
        let dataset = try DatasetCatalog.load(data.request)
        let findings = try check(dataset)
        if json {
            try printJSON(dataset, findings)
        } else {
            printTable(dataset, findings)
        }
    }

    /// The checksums, record counts and images per class of `dataset` (and every image
    /// decoded with --decode), with a note for anything unusual.
    func check(_ dataset: ImageDataset) throws -> Findings {
        var findings = Findings(train: dataset.train.imagesPerClass(numClasses: dataset.numClasses),
                                test: dataset.test.imagesPerClass(numClasses: dataset.numClasses))
        if dataset.name == "cifar100" {
            findings.checksums = try Self.verifySHA256SUMS(in: dataset.location)
            for (split, expected) in CIFAR100.officialCounts {
                if let s = dataset.split(split), s.count != expected {
                    findings.notes.append("\(split) has \(s.count) records; the official file has \(expected)")
                }
            }
        }
        if decode {
            findings.decoded = try Self.decodeAll(dataset)
        } else if dataset.name == "imagefolder" {
            findings.notes.append("images were listed, not decoded (pass --decode to decode every file)")
        }
        for (split, counts) in [("training", findings.train), ("test", findings.test)] {
            let empty = counts.indices.filter { counts[$0] == 0 }
            if !empty.isEmpty {
                findings.notes.append("\(empty.count) classes have no \(split) image: \(empty.prefix(20).map(String.init).joined(separator: ", "))\(empty.count > 20 ? ", ..." : "")")
            }
        }
        return findings
    }

    func printJSON(_ dataset: ImageDataset, _ f: Findings) throws {
        var object: [String: Any] = [
            "dataset": dataset.name, "location": dataset.location, "num_classes": dataset.numClasses,
            "classes": dataset.classNames, "preprocessing": dataset.preprocessing.rawValue,
            "splits": [
                "train": ["images": dataset.train.count, "per_class": f.train, "origin": dataset.train.origin],
                "test": ["images": dataset.test.count, "per_class": f.test, "origin": dataset.test.origin],
            ],
            "notes": f.notes, "checksums": f.checksums,
        ]
        if let decoded = f.decoded { object["decoded_images"] = decoded }
        let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: out, as: UTF8.self))
    }

    func printTable(_ dataset: ImageDataset, _ f: Findings) {
        func row(_ k: String, _ v: String) { print("\(k.padding(toLength: 12, withPad: " ", startingAt: 0)) \(v)") }
        row("dataset", dataset.name + (dataset.name == "synthetic" ? " (generated images, not a benchmark)" : ""))
        row("location", dataset.location)
        row("classes", String(dataset.numClasses))
        row("train", "\(dataset.train.count) images (\(Self.spread(f.train)) per class)")
        row("test", "\(dataset.test.count) images (\(Self.spread(f.test)) per class)")
        row("transforms", dataset.preprocessing == .cifar ? "cifar (RandomCrop 32 pad 4, flip; LUCIR normalisation)"
                                                         : "imagenet (RandomResizedCrop 224, flip, brightness 63/255; test Resize 256 + CenterCrop 224)")
        for (file, status) in f.checksums.sorted(by: { $0.key < $1.key }) { row("sha256", "\(file) \(status)") }
        if let decoded = f.decoded { row("decoded", "\(decoded) images, all readable") }
        for note in f.notes { row("note", note) }
        print("")
        let width = max(4, dataset.classNames.map(\.count).max() ?? 4)
        print("class  \("name".padding(toLength: width, withPad: " ", startingAt: 0))  train   test")
        for c in 0 ..< dataset.numClasses {
            let index = String(c).leftPadded(5), name = dataset.classNames[c].padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(index)  \(name)  \(String(f.train[c]).leftPadded(5))  \(String(f.test[c]).leftPadded(5))")
        }
    }

    /// "500" if every class has 500, else "min-max".
    static func spread(_ counts: [Int]) -> String {
        guard let lo = counts.min(), let hi = counts.max() else { return "0" }
        return lo == hi ? String(lo) : "\(lo)-\(hi)"
    }

    /// Checks the files listed in `directory/SHA256SUMS` (if present); throws on a
    /// mismatch, naming the file.
    static func verifySHA256SUMS(in directory: String) throws -> [String: String] {
        let list = (directory as NSString).appendingPathComponent("SHA256SUMS")
        guard FileManager.default.fileExists(atPath: list) else { return [:] }
        var result: [String: String] = [:]
        for line in try FileBytes.lines(list, what: "checksum list") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else { continue }
            let expected = String(parts[0]).lowercased()
            let name = String(parts[1].drop { $0 == "*" })
            let path = (directory as NSString).appendingPathComponent(name)
            let actual = Checksum.compute(.sha256, of: try FileBytes.read(path, what: "a file listed in \(list)"))
            guard actual == expected else {
                throw DataError.unreadable(path: path, reason: "SHA-256 \(actual) does not match \(expected) from \(list)")
            }
            result[name] = "ok"
        }
        return result
    }

    /// Decodes every image of both splits in parallel; returns how many.
    static func decodeAll(_ dataset: ImageDataset) throws -> Int {
        var total = 0
        for split in [dataset.train, dataset.test] {
            let source = split.source
            try ConcurrentWork.forEach(split.count, workers: Parallel.threads) { i in
                try source.withImage(at: i) { _ in }
            }
            total += split.count
        }
        return total
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
