import Foundation

/// CIFAR-100 in its official binary layout (the `cifar-100-binary` folder):
/// `train.bin`, `test.bin`, `fine_label_names.txt` (and `coarse_label_names.txt`).
///
/// A record is 3,074 bytes: the coarse label (0-19), the fine label (0-99), then the
/// 32×32 red, green and blue planes, row-major. The fine label is the class (the
/// torchvision index the class orders of docs/ALGORITHMS.md §1.1 refer to). Records may
/// come in any order (the shared copy is grouped by class, the official one is not);
/// nothing here assumes one.
public enum CIFAR100 {
    public static let numClasses = 100
    public static let numCoarseClasses = 20
    public static let imageSide = 32
    /// 2 label bytes + 3 × 32 × 32 pixel bytes.
    public static let recordBytes = 3074
    /// The folder name inside the official archive.
    public static let folderName = "cifar-100-binary"
    /// Records in the official files.
    public static let officialCounts = ["train": 50_000, "test": 10_000]

    /// The directory holding `train.bin`: `directory` itself or its
    /// `cifar-100-binary` subfolder. `directory` nil means `CIL_DATA`.
    public static func locate(_ directory: String?) throws -> String {
        let base = try DataLocation.resolve(directory, dataset: "cifar100")
        let candidates = [base, (base as NSString).appendingPathComponent(folderName)]
        for c in candidates where FileManager.default.fileExists(atPath: (c as NSString).appendingPathComponent("train.bin")) {
            return c
        }
        let tried = candidates.map { ($0 as NSString).appendingPathComponent("train.bin") }
        throw DataError.missingFile(path: tried[0], what: "CIFAR-100 training records", tried: tried)
    }

    /// Loads the dataset from `directory` (see `locate`), checking every record.
    public static func load(directory: String?) throws -> ImageDataset {
        let dir = try locate(directory)
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        let names = try classNames(path("fine_label_names.txt"))
        let train = try readSplit(path("train.bin"), name: "train")
        let test = try readSplit(path("test.bin"), name: "test")
        return ImageDataset(name: "cifar100", classNames: names, train: train, test: test,
                            preprocessing: .cifar, location: dir)
    }

    /// The 100 fine class names, one a line.
    public static func classNames(_ path: String) throws -> [String] {
        let names = try FileBytes.lines(path, what: "CIFAR-100 fine class names")
        guard names.count == numClasses else {
            throw DataError.wrongClassNames(path: path, found: names.count, expected: numClasses)
        }
        return names
    }

    /// Reads one record file, checking its size and every label byte.
    public static func readSplit(_ path: String, name: String) throws -> ImageSplit {
        let bytes = try FileBytes.read(path, what: "CIFAR-100 \(name) records")
        let (labels, _) = try parseRecords(bytes, path: path)
        let source = PackedImageSource(bytes: bytes, count: labels.count, width: imageSide, height: imageSide,
                                       recordBytes: recordBytes, headerBytes: 2)
        return ImageSplit(name: name, source: source, labels: labels, origin: path)
    }

    /// Fine and coarse labels of every record of a CIFAR-100 binary file.
    /// Throws: an empty file or a size that is not a whole number of records
    /// (`truncated`, or `wrongRecordSize` when it fits CIFAR-10's 3,073-byte
    /// records), a label out of range (with the byte offset of that label).
    public static func parseRecords(_ bytes: [UInt8], path: String) throws -> (fine: [Int], coarse: [Int]) {
        let size = bytes.count
        if size == 0 {
            throw DataError.truncated(path: path, offset: 0, recordBytes: recordBytes, available: 0)
        }
        if size % recordBytes != 0 {
            if size % 3073 == 0 {
                throw DataError.wrongRecordSize(path: path, fileBytes: size, recordBytes: recordBytes,
                                                hint: "it is a whole number of 3073-byte records: CIFAR-10's layout with one label byte, not CIFAR-100's two")
            }
            let last = size - size % recordBytes
            throw DataError.truncated(path: path, offset: last, recordBytes: recordBytes, available: size - last)
        }
        let n = size / recordBytes
        var fine = [Int](repeating: 0, count: n)
        var coarse = [Int](repeating: 0, count: n)
        for i in 0 ..< n {
            let offset = i * recordBytes
            let c = Int(bytes[offset]), f = Int(bytes[offset + 1])
            guard c < numCoarseClasses else {
                throw DataError.labelOutOfRange(path: path, offset: offset, field: "coarse", value: c, limit: numCoarseClasses)
            }
            guard f < numClasses else {
                throw DataError.labelOutOfRange(path: path, offset: offset + 1, field: "fine", value: f, limit: numClasses)
            }
            fine[i] = f
            coarse[i] = c
        }
        return (fine, coarse)
    }

    /// One record in the official layout (for tests and tools that write files).
    /// `planes` holds the R, G, B planes (3,072 bytes).
    public static func record(coarse: UInt8, fine: UInt8, planes: [UInt8]) -> [UInt8] {
        precondition(planes.count == 3 * imageSide * imageSide, "a CIFAR record holds 3072 pixel bytes")
        return [coarse, fine] + planes
    }
}
