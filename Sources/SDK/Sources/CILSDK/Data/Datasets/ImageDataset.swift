/// A labelled image-classification dataset: class names, a train and a test split,
/// and the preprocessing family its images get (CIFAR-style or ImageNet-style,
/// docs/ALGORITHMS.md §1.6).
public struct ImageDataset: Sendable {
    /// "cifar100", "imagefolder" or "synthetic".
    public let name: String
    /// `classNames[c]` names class `c` (the dataset's own class index).
    public let classNames: [String]
    public let train: ImageSplit
    public let test: ImageSplit
    /// Which transforms of docs/ALGORITHMS.md §1.6 apply.
    public let preprocessing: Preprocessing
    /// Where the data came from (a directory, or a description for generated data).
    public let location: String

    public init(name: String, classNames: [String], train: ImageSplit, test: ImageSplit,
                preprocessing: Preprocessing, location: String) {
        self.name = name
        self.classNames = classNames
        self.train = train
        self.test = test
        self.preprocessing = preprocessing
        self.location = location
    }

    /// Number of classes.
    public var numClasses: Int { classNames.count }

    /// The same images under another pipeline of the same family (a baseline's own
    /// code's, `TrainingPolicy.preprocessing`).
    public func with(preprocessing other: Preprocessing) throws -> ImageDataset {
        guard other.family == preprocessing.family else {
            throw DataError.invalidSetting(name: "preprocessing", value: other.rawValue,
                                           expected: "a pipeline for \(preprocessing.family.rawValue)-style images like \(name)'s")
        }
        return ImageDataset(name: name, classNames: classNames, train: train, test: test, preprocessing: other, location: location)
    }

    /// The split called `name` ("train", "test"; "val" is accepted for "test").
    public func split(_ name: String) -> ImageSplit? {
        switch name {
        case "train": return train
        case "test", "val": return test
        default: return nil
        }
    }
}
