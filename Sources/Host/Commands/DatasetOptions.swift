import ArgumentParser
import CILSDK

/// The flags that name a dataset, shared by `cil data check` and `cil protocol`.
struct DatasetOptions: ParsableArguments {
    @Option(help: "Dataset: cifar100 (official binary files), imagefolder (train/ and val/ class folders of JPEG/PNG), synthetic (generated).")
    var dataset: String = "cifar100"

    @Option(name: [.customLong("data-dir"), .customLong("data_dir")],
            help: "Directory of the dataset (cifar100: the cifar-100-binary folder or its parent; imagefolder: the folder holding train/ and val/). Default: $CIL_DATA.")
    var dataDir: String?

    @Option(name: [.customLong("num-classes"), .customLong("num_classes")],
            help: "synthetic: number of classes (default 100).")
    var numClasses: Int?

    @Option(name: [.customLong("images-per-class"), .customLong("images_per_class")],
            help: "synthetic: training images per class (default 500).")
    var imagesPerClass: Int = 500

    @Option(name: .customLong("test-images-per-class"), help: "synthetic: test images per class (default 100).")
    var testImagesPerClass: Int = 100

    @Option(name: .customLong("data-seed"), help: "synthetic: the seed the images are generated from.")
    var dataSeed: UInt64 = 1

    /// The original code's dataset names and the dataset each one is here: its
    /// ImageNet-Subset and ImageNet are folders holding train/ and val/ (`--data_dir`).
    static let originalNames = ["imagenet_sub": "imagefolder", "imagenet": "imagefolder"]

    func validate() throws {
        guard DatasetCatalog.names.contains(dataset) || dataset == "auto" || Self.originalNames[dataset] != nil else {
            throw ValidationError("--dataset \(dataset): expected one of \(DatasetCatalog.names.joined(separator: ", ")), auto, or the original code's \(Self.originalNames.keys.sorted().joined(separator: ", ")) (image folders)")
        }
        if let numClasses, numClasses < 1 {
            throw ValidationError("--num-classes must be at least 1, got \(numClasses)")
        }
        if dataset == "cifar100", let numClasses, numClasses != 100 {
            throw ValidationError("--num-classes \(numClasses): cifar100 has 100 classes (the option is for the synthetic dataset)")
        }
    }

    /// The request for `DatasetCatalog.load`.
    var request: DatasetCatalog.Request {
        DatasetCatalog.Request(
            name: Self.originalNames[dataset] ?? dataset, dataDirectory: dataDir,
            synthetic: .init(numClasses: numClasses ?? 100, imagesPerClass: imagesPerClass,
                             testImagesPerClass: testImagesPerClass, seed: dataSeed))
    }
}
