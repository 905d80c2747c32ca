import CILSDK
import Foundation

/// Writes small CIFAR-100 binary folders (official record layout) for tests.
enum CIFARFixture {
    /// The pixel planes of a recognisable test image: byte (c, y, x) =
    /// (seed * 7 + c * 50 + y * 3 + x) mod 256.
    static func planes(seed: Int) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 3072)
        for c in 0 ..< 3 { for y in 0 ..< 32 { for x in 0 ..< 32 {
            p[(c * 32 + y) * 32 + x] = UInt8((seed * 7 + c * 50 + y * 3 + x) % 256)
        } } }
        return p
    }

    /// Records for `labels` (fine), coarse = fine / 5, image seed = position.
    static func records(_ labels: [Int]) -> [UInt8] {
        labels.enumerated().flatMap { i, l in CIFAR100.record(coarse: UInt8(l / 5), fine: UInt8(l), planes: planes(seed: i)) }
    }

    static let names = (0 ..< 100).map { "class\($0)" }

    /// A `cifar-100-binary` folder in `dir` with the given train and test labels.
    @discardableResult
    static func write(in dir: TestDirectory, train: [Int], test: [Int], folder: String = "cifar-100-binary") throws -> String {
        try dir.write(records(train), to: "\(folder)/train.bin")
        try dir.write(records(test), to: "\(folder)/test.bin")
        try dir.write(names.joined(separator: "\n") + "\n", to: "\(folder)/fine_label_names.txt")
        try dir.write((0 ..< 20).map { "super\($0)" }.joined(separator: "\n") + "\n", to: "\(folder)/coarse_label_names.txt")
        return dir.file(folder)
    }
}
