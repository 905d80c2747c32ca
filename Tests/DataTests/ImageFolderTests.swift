import CILSDK
import Foundation
import Testing

/// Image folders: JPEG/PNG decoding through libjpeg-turbo / libpng, torchvision's
/// class numbering (sorted folder names), recursive listing, and the errors.
@Suite("Image folders")
struct ImageFolderTests {
    static func picture(_ w: Int, _ h: Int, tint: Int) -> RGBImage {
        TransformTests.image(w, h) { c, y, x in (c == 0 ? tint : 0) + (c + 1) * (x * 3 + y * 2) }
    }

    /// ROOT/{train,val}/{zebra,ant,Mole}/..., JPEG and PNG mixed.
    static func writeFolder(_ dir: TestDirectory) throws {
        for split in ["train", "val"] {
            for (k, name) in ["zebra", "ant", "Mole"].enumerated() {
                let n = split == "train" ? 3 : 1
                for i in 0 ..< n {
                    let img = picture(40 + i, 30 + k, tint: k * 60)
                    if i % 2 == 0 {
                        try dir.write(try ImageDecoder.encodePNG(img), to: "\(split)/\(name)/img\(i).PNG")
                    } else {
                        try dir.write(try ImageDecoder.encodeJPEG(img, quality: 95), to: "\(split)/\(name)/sub/img\(i).jpeg")
                    }
                }
            }
            try dir.write("not an image", to: "\(split)/ant/notes.txt")
        }
    }

    @Test func pngRoundTripsExactlyAndJPEGClosely() throws {
        let img = Self.picture(33, 17, tint: 40)
        #expect(try ImageDecoder.decode(ImageDecoder.encodePNG(img), path: "x.png") == img)
        // JPEG is lossy (and subsamples chroma): compare on a smooth image.
        let smooth = TransformTests.image(33, 17) { c, y, x in 40 + c * 50 + x * 2 + y * 3 }
        let jpeg = try ImageDecoder.decode(ImageDecoder.encodeJPEG(smooth, quality: 100), path: "x.jpg")
        #expect(jpeg.width == 33 && jpeg.height == 17)
        let maxError = zip(jpeg.pixels, smooth.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(maxError <= 6)
        let bytes = try ImageDecoder.encodePNG(img)
        #expect(ImageDecoder.format(of: bytes.withUnsafeBufferPointer { $0 }) == .png)
    }

    @Test func corruptAndUnknownFilesAreReportedWithTheirPath() throws {
        let jpeg = try ImageDecoder.encodeJPEG(Self.picture(16, 16, tint: 0))
        #expect(throws: DataError.decodeFailed(path: "a/b.jpg", reason: "not a JPEG or PNG file (unknown signature)")) {
            try ImageDecoder.decode(Array("GIF89a....".utf8), path: "a/b.jpg")
        }
        do {
            _ = try ImageDecoder.decode(Array(jpeg.prefix(40)), path: "cut.jpg")
            Issue.record("a JPEG cut after 40 bytes decoded")
        } catch let error as DataError {
            guard case .decodeFailed(let path, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(path == "cut.jpg" && reason.hasPrefix("jpeg: "))
        }
        let png = try ImageDecoder.encodePNG(Self.picture(16, 16, tint: 0))
        do {
            _ = try ImageDecoder.decode(Array(png.prefix(30)), path: "cut.png")
            Issue.record("a PNG cut after 30 bytes decoded")
        } catch let error as DataError {
            guard case .decodeFailed("cut.png", let reason) = error else { Issue.record("got \(error)"); return }
            #expect(reason.hasPrefix("png: "))
        }
    }

    @Test func classesAreSortedFolderNamesAndFilesAreFoundRecursively() throws {
        let dir = try TestDirectory()
        try Self.writeFolder(dir)
        let data = try ImageFolder.load(root: dir.path)
        // Code-point order: upper case first, as Python's sorted().
        #expect(data.classNames == ["Mole", "ant", "zebra"])
        #expect(data.train.count == 9 && data.test.count == 3)
        #expect(data.train.labels == [0, 0, 0, 1, 1, 1, 2, 2, 2])
        #expect(data.test.labels == [0, 1, 2])
        #expect(data.preprocessing == .imagenet)
        let listing = try ImageFolder.scan(dir.file("train"), what: "train")
        #expect(listing.skipped == 1)
        #expect(listing.paths[1].hasSuffix("Mole/img2.PNG") && listing.paths[2].hasSuffix("Mole/sub/img1.jpeg"))
        // The PNG of class "ant" (k = 1), image 0, decodes to what was written.
        #expect(try data.train.source.image(at: 3) == Self.picture(40, 31, tint: 60))
    }

    @Test func batchesDecodeOnceIntoTheCache() throws {
        let dir = try TestDirectory()
        try Self.writeFolder(dir)
        let data = try ImageFolder.load(root: dir.path)
        let loader = BatchLoader(split: data.train, transform: data.preprocessing.train, workers: 2)
        var rng = RandomGenerator(seed: 1)
        let batch = try loader.batch(Array(0 ..< 9), rng: &rng)
        #expect(batch.images.shape == [9, 3, 224, 224])
        #expect(batch.images.scalars.allSatisfy { $0.isFinite })
        let source = try #require(data.train.source as? FileImageSource)
        #expect(source.cache.usage.images == 9)
        // Test transform: deterministic.
        let test = BatchLoader(split: data.test, transform: data.preprocessing.test)
        var r1 = RandomGenerator(seed: 1), r2 = RandomGenerator(seed: 2)
        #expect(try test.batch([0, 2], rng: &r1).images.scalars == test.batch([0, 2], rng: &r2).images.scalars)
    }

    @Test func structuralErrorsNameThePath() throws {
        let dir = try TestDirectory()
        try Self.writeFolder(dir)
        // A class only in train.
        try dir.write(try ImageDecoder.encodePNG(Self.picture(8, 8, tint: 0)), to: "train/yak/a.png")
        #expect(throws: DataError.classMismatch(trainPath: dir.file("train"), valPath: dir.file("val"), onlyInTrain: ["yak"], onlyInVal: [])) {
            try ImageFolder.load(root: dir.path)
        }
        // An empty class folder.
        try FileManager.default.createDirectory(atPath: dir.file("val/yak"), withIntermediateDirectories: true)
        #expect(throws: DataError.emptyClass(path: dir.file("val/yak"))) { try ImageFolder.load(root: dir.path) }
        // No val folder.
        let other = try TestDirectory()
        try other.write(try ImageDecoder.encodePNG(Self.picture(8, 8, tint: 0)), to: "train/a/x.png")
        #expect(throws: DataError.missingDirectory(path: other.file("val"), what: "image-folder validation split")) {
            try ImageFolder.load(root: other.path)
        }
    }

    @Test func aBrokenImageFailsTheBatchNamingTheFile() throws {
        let dir = try TestDirectory()
        try Self.writeFolder(dir)
        let broken = try dir.write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array("broken".utf8), to: "train/ant/zz.png")
        let data = try ImageFolder.load(root: dir.path)
        let source = try #require(data.train.source as? FileImageSource)
        let position = try #require(source.paths.firstIndex(of: broken))
        var rng = RandomGenerator(seed: 1)
        do {
            _ = try BatchLoader(split: data.train, transform: data.preprocessing.test).batch([0, position], rng: &rng)
            Issue.record("expected a decode error")
        } catch let error as DataError {
            #expect(error.description.contains(broken))
        }
    }
}

/// The decoded-image cache of the ImageNet path (500×375 JPEGs): a batch served from
/// the cache equals the same batch decoded cold (same augmentation seed). Throughput
/// is not tested here: speed belongs to benchmarks, not unit tests.
@Suite("Image folder decoded cache")
struct ImageFolderCacheTests {
    @Test func cachedBatchEqualsColdBatch() throws {
        let dir = try TestDirectory()
        let n = 16
        for i in 0 ..< n {
            let img = TransformTests.image(500, 375) { c, y, x in (x * (c + 1) + y * 2 + i * 13) % 256 / 2 + 60 }
            try dir.write(try ImageDecoder.encodeJPEG(img, quality: 90), to: "train/c\(i % 4)/\(i).jpg")
            if i < 4 { try dir.write(try ImageDecoder.encodeJPEG(img, quality: 90), to: "val/c\(i % 4)/\(i).jpg") }
        }
        let cold = try ImageFolder.load(root: dir.path), warm = try ImageFolder.load(root: dir.path)
        let coldLoader = BatchLoader(split: cold.train, transform: cold.preprocessing.train)
        let warmLoader = BatchLoader(split: warm.train, transform: warm.preprocessing.train)
        var warmUp = RandomGenerator(seed: 99)
        _ = try warmLoader.batch(Array(0 ..< n), rng: &warmUp)  // fills the cache
        var rngCold = RandomGenerator(seed: 1), rngWarm = RandomGenerator(seed: 1)
        let a = try coldLoader.batch(Array(0 ..< n), rng: &rngCold)
        let b = try warmLoader.batch(Array(0 ..< n), rng: &rngWarm)
        #expect(a.images.shape == b.images.shape && a.labels == b.labels)
        #expect(a.images.scalars == b.images.scalars, "a cached image must equal its cold decode")
    }
}
