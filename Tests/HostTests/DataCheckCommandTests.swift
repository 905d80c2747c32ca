import Foundation
import Testing

/// `cil data check`: counts per split and per class, and clear errors (file and
/// byte offset) with a non-zero exit for broken data.
@Suite("cil data check")
struct DataCheckCommandTests {
    @Test func cifarCountsPerSplitAndClass() throws {
        let dir = try DataFixtures.temporaryDirectory("cil-check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try DataFixtures.cifarFolder(in: dir, train: [7, 3, 7, 99, 7], test: [3, 3])
        let out = try CommandRunner.run(["data", "check", "--dataset", "cifar100", "--data-dir", dir, "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let info = try CommandRunner.json(out)
        #expect(info["num_classes"] as? Int == 100)
        let splits = try #require(info["splits"] as? [String: [String: Any]])
        #expect(splits["train"]?["images"] as? Int == 5 && splits["test"]?["images"] as? Int == 2)
        let perClass = try #require(splits["train"]?["per_class"] as? [Int])
        #expect(perClass[7] == 3 && perClass[3] == 1 && perClass[99] == 1 && perClass[0] == 0)
        #expect((info["classes"] as? [String])?[7] == "fine7")
        // The text form: a table of classes (CIL_DATA instead of --data-dir).
        let text = try CommandRunner.run(["data", "check", "--dataset", "cifar100"], environment: ["CIL_DATA": dir])
        #expect(text.status == 0)
        #expect(text.stdout.contains("train        5 images (0-3 per class)"))
        #expect(text.stdout.contains("    7  fine7       3      0"))
        #expect(text.stdout.contains("note         97 classes have no training image: 0, 1, 2, 4, 5, 6, 8,"))
    }

    @Test func truncatedFileNamesFileAndOffset() throws {
        let dir = try DataFixtures.temporaryDirectory("cil-check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try DataFixtures.cifarFolder(in: dir, train: [1, 2, 3], test: [1])
        let bytes = DataFixtures.records([1, 2, 3])
        try DataFixtures.write(Array(bytes.prefix(2 * 3074 + 10)), to: folder + "/train.bin")
        let out = try CommandRunner.run(["data", "check", "--dataset", "cifar100", "--data-dir", folder])
        #expect(out.status != 0)
        #expect(out.stderr.contains("\(folder)/train.bin is truncated"))
        #expect(out.stderr.contains("byte offset 6148"))
    }

    @Test func badLabelAndMissingFiles() throws {
        let dir = try DataFixtures.temporaryDirectory("cil-check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try DataFixtures.cifarFolder(in: dir, train: [1, 2, 3], test: [1])
        var bytes = DataFixtures.records([1, 2])
        bytes[3074 + 1] = 250
        try DataFixtures.write(bytes, to: folder + "/test.bin")
        let label = try CommandRunner.run(["data", "check", "--dataset", "cifar100", "--data-dir", folder])
        #expect(label.status != 0)
        #expect(label.stderr.contains("\(folder)/test.bin: fine label 250 at byte offset 3075 is out of range"))
        let missing = try CommandRunner.run(["data", "check", "--dataset", "cifar100", "--data-dir", dir + "/nowhere"])
        #expect(missing.status != 0 && missing.stderr.contains(dir + "/nowhere/train.bin"))
        let noDir = try CommandRunner.run(["data", "check", "--dataset", "cifar100"], environment: ["CIL_DATA": nil])
        #expect(noDir.status != 0 && noDir.stderr.contains("--data-dir") && noDir.stderr.contains("CIL_DATA"))
        let unknown = try CommandRunner.run(["data", "check", "--dataset", "mnist"])
        #expect(unknown.status != 0 && unknown.stderr.contains("--dataset mnist"))
    }

    @Test func imageFolderDecodesEveryFileAndNamesABrokenOne() throws {
        let dir = try DataFixtures.temporaryDirectory("cil-check-folder")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for split in ["train", "val"] {
            for (k, name) in ["b_cat", "a_dog"].enumerated() {
                for i in 0 ..< (split == "train" ? 3 : 1) {
                    try DataFixtures.write(DataFixtures.png(width: 20 + i, height: 16) { x, y in (UInt8(x * 10), UInt8(y * 10), UInt8(k * 100)) },
                                           to: "\(dir)/\(split)/\(name)/\(i).png")
                }
            }
        }
        let out = try CommandRunner.run(["data", "check", "--dataset", "imagefolder", "--data-dir", dir, "--decode", "--json"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let info = try CommandRunner.json(out)
        #expect(info["classes"] as? [String] == ["a_dog", "b_cat"])
        #expect(info["decoded_images"] as? Int == 8)
        try DataFixtures.write(Array("not a png".utf8), to: "\(dir)/val/a_dog/broken.png")
        let broken = try CommandRunner.run(["data", "check", "--dataset", "imagefolder", "--data-dir", dir, "--decode"])
        #expect(broken.status != 0 && broken.stderr.contains("\(dir)/val/a_dog/broken.png"))
    }

    @Test func syntheticSaysItIsSynthetic() throws {
        let out = try CommandRunner.run(["data", "check", "--dataset", "synthetic", "--num-classes", "4", "--images-per-class", "6",
                                         "--test-images-per-class", "2"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stdout.contains("synthetic (generated images, not a benchmark)"))
        #expect(out.stdout.contains("train        24 images (6 per class)"))
        let bad = try CommandRunner.run(["data", "check", "--dataset", "synthetic", "--images-per-class", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--images-per-class"))
    }
}
