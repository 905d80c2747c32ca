/// Why a dataset could not be read. Every case names the file or directory and,
/// for binary files, the byte offset, so that the message alone says what to fix.
public enum DataError: Error, Equatable, CustomStringConvertible {
    /// No data directory was given (`--data-dir`) and `CIL_DATA` is not set.
    case noDataDirectory(dataset: String)
    /// A file the format requires does not exist (`tried` lists the paths looked at).
    case missingFile(path: String, what: String, tried: [String])
    /// A directory the format requires does not exist.
    case missingDirectory(path: String, what: String)
    /// A file exists but cannot be read.
    case unreadable(path: String, reason: String)
    /// A record file whose size is not a multiple of the record size: the last
    /// record starts at `offset` and has only `available` of `recordBytes` bytes.
    case truncated(path: String, offset: Int, recordBytes: Int, available: Int)
    /// A record file whose size fits another record size (`hint` says which format).
    case wrongRecordSize(path: String, fileBytes: Int, recordBytes: Int, hint: String)
    /// A label byte outside its range; `offset` is the byte offset of that label.
    case labelOutOfRange(path: String, offset: Int, field: String, value: Int, limit: Int)
    /// A label-names file with the wrong number of names.
    case wrongClassNames(path: String, found: Int, expected: Int)
    /// An image file that libjpeg / libpng could not decode.
    case decodeFailed(path: String, reason: String)
    /// A class folder with no JPEG or PNG file.
    case emptyClass(path: String)
    /// The train and validation folders do not hold the same classes.
    case classMismatch(trainPath: String, valPath: String, onlyInTrain: [String], onlyInVal: [String])
    /// An image too small (or of the wrong size) for the transform.
    case badImageSize(what: String, width: Int, height: Int, expected: String)
    /// An invalid setting (e.g. zero classes for the synthetic set).
    case invalidSetting(name: String, value: String, expected: String)
    /// A dataset name cil does not know.
    case unknownDataset(name: String, known: [String])

    public var description: String {
        switch self {
        case let .noDataDirectory(dataset):
            return "no data directory for \(dataset): pass --data-dir DIR or set CIL_DATA"
        case let .missingFile(path, what, tried):
            let others = tried.filter { $0 != path }
            return "missing file \(path) (\(what))" + (others.isEmpty ? "" : "; also looked for \(others.joined(separator: ", "))")
        case let .missingDirectory(path, what):
            return "missing directory \(path) (\(what))"
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .truncated(path, offset, recordBytes, available):
            return "\(path) is truncated: the last record starts at byte offset \(offset) and has \(available) of its \(recordBytes) bytes"
        case let .wrongRecordSize(path, fileBytes, recordBytes, hint):
            return "\(path) has the wrong record size: \(fileBytes) bytes is not a whole number of \(recordBytes)-byte records (\(hint))"
        case let .labelOutOfRange(path, offset, field, value, limit):
            return "\(path): \(field) label \(value) at byte offset \(offset) is out of range (expected 0...\(limit - 1))"
        case let .wrongClassNames(path, found, expected):
            return "\(path) names \(found) classes, expected \(expected) (one name a line)"
        case let .decodeFailed(path, reason):
            return "cannot decode image \(path): \(reason)"
        case let .emptyClass(path):
            return "class folder \(path) holds no JPEG or PNG image"
        case let .classMismatch(trainPath, valPath, onlyInTrain, onlyInVal):
            var parts: [String] = []
            if !onlyInTrain.isEmpty { parts.append("only in \(trainPath): \(onlyInTrain.prefix(5).joined(separator: ", "))\(onlyInTrain.count > 5 ? ", ..." : "")") }
            if !onlyInVal.isEmpty { parts.append("only in \(valPath): \(onlyInVal.prefix(5).joined(separator: ", "))\(onlyInVal.count > 5 ? ", ..." : "")") }
            return "the class folders of \(trainPath) and \(valPath) differ: " + parts.joined(separator: "; ")
        case let .badImageSize(what, width, height, expected):
            return "\(what) is \(width)x\(height), expected \(expected)"
        case let .invalidSetting(name, value, expected):
            return "invalid \(name) \(value): expected \(expected)"
        case let .unknownDataset(name, known):
            return "unknown dataset '\(name)' (known: \(known.joined(separator: ", ")))"
        }
    }
}
