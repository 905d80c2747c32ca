import CILSDK
import Foundation
import RealCIFARSupport
import Testing

/// The CIFAR-100 binary reader on files the tests write: record layout, labels in
/// any order, directory lookup, and every error naming the file and byte offset.
@Suite("CIFAR-100 reader")
struct CIFAR100ReaderTests {
    @Test func readsRecordsInAnyOrder() throws {
        let dir = try TestDirectory()
        let train = [5, 99, 0, 5, 42, 0, 99]            // interleaved, not grouped
        try CIFARFixture.write(in: dir, train: train, test: [1, 2])
        let data = try CIFAR100.load(directory: dir.path)  // finds the cifar-100-binary subfolder
        #expect(data.numClasses == 100)
        #expect(data.classNames[42] == "class42")
        #expect(data.train.labels == train)
        #expect(data.test.labels == [1, 2])
        #expect(data.preprocessing == .cifar)
        let counts = data.train.imagesPerClass(numClasses: 100)
        #expect(counts[0] == 2 && counts[5] == 2 && counts[99] == 2 && counts[42] == 1 && counts[1] == 0)
        #expect(data.train.indicesByClass(numClasses: 100)[99] == [1, 6])
        // Pixel (c, y, x) of record i comes from the planes in R, G, B order.
        for i in [0, 3, 6] {
            let image = try data.train.source.image(at: i)
            #expect(image.width == 32 && image.height == 32)
            #expect(image.pixels == CIFARFixture.planes(seed: i))
        }
    }

    @Test func acceptsTheFolderItselfAndCILData() throws {
        let dir = try TestDirectory()
        let folder = try CIFARFixture.write(in: dir, train: [3], test: [4])
        #expect(try CIFAR100.locate(folder) == folder)
        #expect(try DataLocation.resolve(nil, dataset: "cifar100", environment: ["CIL_DATA": dir.path]) == dir.path)
        #expect(throws: DataError.noDataDirectory(dataset: "cifar100")) {
            try DataLocation.resolve(nil, dataset: "cifar100", environment: [:])
        }
    }

    @Test func missingFilesAreNamed() throws {
        let dir = try TestDirectory()
        do {
            _ = try CIFAR100.load(directory: dir.path)
            Issue.record("expected an error")
        } catch let error as DataError {
            #expect(error.description.contains(dir.file("train.bin")))
            #expect(error.description.contains(dir.file("cifar-100-binary/train.bin")))
        }
        let folder = try CIFARFixture.write(in: dir, train: [3], test: [4])
        try FileManager.default.removeItem(atPath: folder + "/test.bin")
        #expect(throws: DataError.missingFile(path: folder + "/test.bin", what: "CIFAR-100 test records", tried: [folder + "/test.bin"])) {
            try CIFAR100.load(directory: folder)
        }
        try FileManager.default.removeItem(atPath: folder + "/fine_label_names.txt")
        do {
            _ = try CIFAR100.load(directory: folder)
            Issue.record("expected an error")
        } catch let error as DataError {
            #expect(error.description.contains("fine_label_names.txt"))
        }
    }

    @Test func truncatedFileNamesTheOffset() throws {
        let dir = try TestDirectory()
        let bytes = CIFARFixture.records([1, 2, 3])
        let path = try dir.write(Array(bytes.prefix(3 * 3074 - 100)), to: "train.bin")
        #expect(throws: DataError.truncated(path: path, offset: 2 * 3074, recordBytes: 3074, available: 3074 - 100)) {
            try CIFAR100.readSplit(path, name: "train")
        }
        let error = DataError.truncated(path: path, offset: 6148, recordBytes: 3074, available: 2974)
        #expect(error.description.contains(path) && error.description.contains("byte offset 6148"))
        let empty = try dir.write([], to: "empty.bin")
        #expect(throws: DataError.truncated(path: empty, offset: 0, recordBytes: 3074, available: 0)) {
            try CIFAR100.readSplit(empty, name: "test")
        }
    }

    @Test func cifar10RecordsAreAWrongRecordSize() throws {
        let dir = try TestDirectory()
        // 3074 records of 3073 bytes: a multiple of 3073 but not of 3074.
        let path = try dir.write([UInt8](repeating: 1, count: 3073 * 5), to: "data_batch_1.bin")
        do {
            _ = try CIFAR100.readSplit(path, name: "train")
            Issue.record("expected an error")
        } catch let error as DataError {
            guard case .wrongRecordSize(let p, let size, 3074, _) = error else { Issue.record("got \(error)"); return }
            #expect(p == path && size == 3073 * 5)
            #expect(error.description.contains("CIFAR-10"))
        }
    }

    @Test func outOfRangeLabelsNameTheByteOffset() throws {
        let dir = try TestDirectory()
        var bytes = CIFARFixture.records([1, 2, 3])
        bytes[2 * 3074 + 1] = 100                         // fine label of record 2
        let path = try dir.write(bytes, to: "train.bin")
        #expect(throws: DataError.labelOutOfRange(path: path, offset: 2 * 3074 + 1, field: "fine", value: 100, limit: 100)) {
            try CIFAR100.readSplit(path, name: "train")
        }
        bytes[2 * 3074 + 1] = 3
        bytes[3074] = 20                                   // coarse label of record 1
        let path2 = try dir.write(bytes, to: "train2.bin")
        #expect(throws: DataError.labelOutOfRange(path: path2, offset: 3074, field: "coarse", value: 20, limit: 20)) {
            try CIFAR100.readSplit(path2, name: "train")
        }
    }

    @Test func wrongNumberOfClassNames() throws {
        let dir = try TestDirectory()
        let path = try dir.write("a\nb\n\nc\n", to: "fine_label_names.txt")
        #expect(throws: DataError.wrongClassNames(path: path, found: 3, expected: 100)) {
            try CIFAR100.classNames(path)
        }
    }

    /// The real data set (`RealCIFAR`: CIL_DATA): 50,000 / 10,000 records, 500 / 100
    /// per class, class 0 named "apple".
    @Test(.enabled(if: RealCIFAR.enabled, RealCIFAR.skipNote))
    func realCIFARDataSet() throws {
        let folder = try RealCIFAR.requireFolder()
        let start = Date()
        let data = try CIFAR100.load(directory: folder)
        let seconds = Date().timeIntervalSince(start)
        #expect(data.train.count == 50_000 && data.test.count == 10_000)
        #expect(data.train.imagesPerClass(numClasses: 100).allSatisfy { $0 == 500 })
        #expect(data.test.imagesPerClass(numClasses: 100).allSatisfy { $0 == 100 })
        #expect(data.classNames[0] == "apple")
        print("loaded CIFAR-100 train+test in \(String(format: "%.3f", seconds)) s")
    }
}
