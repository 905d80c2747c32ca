import CILSDK
import Foundation
import Testing

/// The real CIFAR-100, for the tests that need it. Found as `cil` finds it: the
/// `CIL_DATA` environment variable names the `cifar-100-binary` folder or its parent
/// (`CIFAR100.locate`). Without it these tests are skipped with `skipNote`, unless
/// `CIL_REQUIRE_DATA=1` (CI sets it): then they run and fail, saying what is missing.
/// Every test that needs the data has `realCIFAR` in its name, so that
/// `swift test --filter realCIFAR` runs exactly those (CI runs them with the data).
public enum RealCIFAR {
    /// The environment variable that turns a missing data set into a failure.
    public static let requireVariable = "CIL_REQUIRE_DATA"

    /// The folder holding train.bin, as an absolute path; nil when it is not found.
    public static let folder: String? = try? requireFolder()

    /// Whether a missing data set must fail the tests instead of skipping them.
    public static var required: Bool { ProcessInfo.processInfo.environment[requireVariable] == "1" }

    /// The condition of `.enabled(if:)`: the data is there, or it is required.
    public static var enabled: Bool { folder != nil || required }

    /// The one line a skipped test prints.
    /// (`cil data fetch cifar100` downloads into $CIL_DATA when it is set, else ./data.)
    public static var skipNote: Comment {
        let given = ProcessInfo.processInfo.environment[DataLocation.environmentVariable] ?? ""
        if given.isEmpty {
            return "CIFAR-100 not found: set CIL_DATA to its folder, or fetch it with `cil data fetch cifar100` (into ./data, then CIL_DATA=data)"
        }
        return Comment(rawValue: "CIFAR-100 not found in CIL_DATA=\(given): point CIL_DATA at its folder, or fetch it there with `cil data fetch cifar100`")
    }

    /// The folder as an absolute path, or an error saying what is missing.
    public static func requireFolder() throws -> String {
        do {
            return URL(fileURLWithPath: try CIFAR100.locate(nil)).standardizedFileURL.path
        } catch {
            throw Missing(description: "CIFAR-100 is required (\(requireVariable)=1) but was not found: \(error). Set CIL_DATA to the cifar-100-binary folder or its parent (`cil data fetch cifar100` downloads it).")
        }
    }

    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }
}
