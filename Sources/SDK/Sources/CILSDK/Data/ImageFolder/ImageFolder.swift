import Foundation

/// An ImageNet-style folder dataset (ImageNet-Subset and the like):
///
/// ```
/// ROOT/train/<class>/**/*.{jpg,jpeg,png}
/// ROOT/val/<class>/**/*.{jpg,jpeg,png}
/// ```
///
/// As torchvision's `ImageFolder`: the class index is the position of the folder
/// name in sorted order (code-point order, like Python's `sorted`), files are found
/// recursively and taken in sorted path order, extensions are matched case-
/// insensitively. Only JPEG and PNG are decoded; other files are skipped and
/// counted. Both splits must hold the same class folders. The `val` split is the
/// test split.
public enum ImageFolder {
    /// Extensions that are read (lower case).
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// The files of one split, found by `scan`.
    public struct Listing: Sendable {
        /// Sorted class folder names.
        public var classNames: [String]
        /// Image paths, grouped by class in class order, each class sorted.
        public var paths: [String]
        /// Class of each path.
        public var labels: [Int]
        /// Files skipped because they are not JPEG/PNG (by extension).
        public var skipped: Int
    }

    /// Lists `directory`'s class folders and their images. Throws if the directory
    /// is missing, holds no class folder, or a class folder holds no image.
    public static func scan(_ directory: String, what: String) throws -> Listing {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missingDirectory(path: directory, what: what)
        }
        let entries: [String]
        do { entries = try fm.contentsOfDirectory(atPath: directory) } catch {
            throw DataError.unreadable(path: directory, reason: "\(error.localizedDescription)")
        }
        let classes = entries.filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: (directory as NSString).appendingPathComponent(name), isDirectory: &d) && d.boolValue
        }.sorted(by: codePointLess)
        guard !classes.isEmpty else {
            throw DataError.missingDirectory(path: (directory as NSString).appendingPathComponent("<class>"),
                                             what: "\(what): no class folder found")
        }
        var listing = Listing(classNames: classes, paths: [], labels: [], skipped: 0)
        for (label, name) in classes.enumerated() {
            let classDir = (directory as NSString).appendingPathComponent(name)
            var found: [String] = []
            guard let walker = fm.enumerator(atPath: classDir) else {
                throw DataError.unreadable(path: classDir, reason: "cannot list the folder")
            }
            while let relative = walker.nextObject() as? String {
                let full = (classDir as NSString).appendingPathComponent(relative)
                var d: ObjCBool = false
                guard fm.fileExists(atPath: full, isDirectory: &d), !d.boolValue else { continue }
                if extensions.contains((relative as NSString).pathExtension.lowercased()) {
                    found.append(full)
                } else {
                    listing.skipped += 1
                }
            }
            guard !found.isEmpty else { throw DataError.emptyClass(path: classDir) }
            found.sort(by: codePointLess)
            listing.paths += found
            listing.labels += Array(repeating: label, count: found.count)
        }
        return listing
    }

    /// Loads `root` (its `train` and `val` folders). Nothing is decoded yet: images
    /// are decoded when first used and cached up to `cacheBytes`.
    public static func load(root: String?, trainFolder: String = "train", testFolder: String = "val",
                            cacheBytes: Int = DecodedImageCache.defaultCapacityBytes) throws -> ImageDataset {
        let base = try DataLocation.resolve(root, dataset: "imagefolder")
        let trainDir = (base as NSString).appendingPathComponent(trainFolder)
        let testDir = (base as NSString).appendingPathComponent(testFolder)
        let train = try scan(trainDir, what: "image-folder training split")
        let test = try scan(testDir, what: "image-folder validation split")
        guard train.classNames == test.classNames else {
            let a = Set(train.classNames), b = Set(test.classNames)
            throw DataError.classMismatch(trainPath: trainDir, valPath: testDir,
                                          onlyInTrain: a.subtracting(b).sorted(by: codePointLess),
                                          onlyInVal: b.subtracting(a).sorted(by: codePointLess))
        }
        // The budget is split: 7/8 for the training images (read every epoch), 1/8
        // for the validation images.
        let cache = DecodedImageCache(capacityBytes: cacheBytes - cacheBytes / 8)
        let testCache = DecodedImageCache(capacityBytes: cacheBytes / 8)
        return ImageDataset(
            name: "imagefolder", classNames: train.classNames,
            train: ImageSplit(name: "train", source: FileImageSource(paths: train.paths, cache: cache), labels: train.labels, origin: trainDir),
            test: ImageSplit(name: "test", source: FileImageSource(paths: test.paths, cache: testCache), labels: test.labels, origin: testDir),
            preprocessing: .imagenet, location: base)
    }

    /// Python's string order (by Unicode code point), which `ImageFolder` uses.
    public static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }
}
