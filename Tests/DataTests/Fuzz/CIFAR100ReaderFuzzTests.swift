import CILSDK
import Foundation
import FuzzSupport
import Testing

/// The CIFAR-100 binary reader under random mutation (bit flips, truncation,
/// insertions, deletions, splices, huge integers): every file either reads as records
/// whose labels are in range and whose pixels can all be read, or is refused with a
/// `DataError` naming it; never a crash, a hang or an absurd allocation.
@Suite("Fuzz: CIFAR-100 reader")
struct CIFAR100ReaderFuzzTests {
    @Test func everyMutatedRecordFileReadsOrIsRefusedClearly() throws {
        let dir = try TestDirectory()
        defer { withExtendedLifetime(dir) {} }
        let corpus: [[UInt8]] = [
            CIFARFixture.records([0, 99, 42]),
            CIFARFixture.records([7]),
            Array(CIFARFixture.records([1, 2]).prefix(2 * 3073)),  // the size of two CIFAR-10 records
        ]
        let path = dir.file("train.bin")
        let report = FuzzCampaign.run("cifar100-records", corpus: corpus, isClear: { $0 is DataError }) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let split = try CIFAR100.readSplit(path, name: "train")
            #expect(split.count == bytes.count / CIFAR100.recordBytes)
            #expect(split.labels.allSatisfy { (0 ..< CIFAR100.numClasses).contains($0) })
            // Every image is the 3072 bytes after its record's two label bytes.
            for i in 0 ..< split.count {
                let (side, pixels) = try split.source.withImage(at: i) { view in (view.width * 100 + view.height, Array(view.pixels.prefix(3072))) }
                #expect(side == 32 * 100 + 32)
                #expect(pixels == Array(bytes[(i * CIFAR100.recordBytes + 2) ..< ((i + 1) * CIFAR100.recordBytes)]))
            }
        }
        #expect(report.iterations > corpus.count && report.accepted > 0 && report.rejected > 0, "\(report)")
        #expect(report.findings.isEmpty, "\(report.findings)")
    }

    @Test func everyMutatedClassNameFileReadsOrIsRefusedClearly() throws {
        let dir = try TestDirectory()
        defer { withExtendedLifetime(dir) {} }
        let names = CIFARFixture.names.joined(separator: "\n") + "\n"
        let path = dir.file("fine_label_names.txt")
        let corpus = [Array(names.utf8), Array(names.replacingOccurrences(of: "\n", with: "\r\n").utf8)]
        let report = FuzzCampaign.run("cifar100-names", corpus: corpus, text: true, isClear: { $0 is DataError }) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let read = try CIFAR100.classNames(path)
            #expect(read.count == CIFAR100.numClasses && read.allSatisfy { !$0.isEmpty })
        }
        #expect(report.accepted > 0 && report.rejected > 0, "\(report)")
        #expect(report.findings.isEmpty, "\(report.findings)")
    }
}
