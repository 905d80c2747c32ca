import CILSDK
import Foundation
import Testing

/// Transforms (docs/ALGORITHMS.md §1.6): CIFAR crop/flip/normalise with LUCIR's
/// constants, PODNet's CIFAR pipeline (ColorJitter brightness, its constants, §6.3),
/// the ImageNet pipelines, PIL's bilinear resampling on hand-computed cases.
@Suite("Transforms")
struct TransformTests {
    static let mean: [Float] = [0.5071, 0.4866, 0.4409]
    static let std: [Float] = [0.2009, 0.1984, 0.2023]

    static func image(_ w: Int, _ h: Int, _ f: (Int, Int, Int) -> Int) -> RGBImage {
        var p = [UInt8](repeating: 0, count: 3 * w * h)
        for c in 0 ..< 3 { for y in 0 ..< h { for x in 0 ..< w { p[(c * h + y) * w + x] = UInt8(f(c, y, x) & 255) } } }
        return RGBImage(width: w, height: h, pixels: p)
    }

    static func run(_ t: any ImageTransform, _ image: RGBImage, seed: UInt64 = 1) throws -> [Float] {
        let (h, w) = try t.outputSize(forInputWidth: image.width, height: image.height)
        var out = [Float](repeating: .nan, count: 3 * h * w)
        var rng = RandomGenerator(seed: seed)
        try out.withUnsafeMutableBufferPointer { o in try image.withView { try t.apply($0, into: o, rng: &rng) } }
        return out
    }

    @Test func cifarTestTransformIsToTensorAndNormalize() throws {
        let img = Self.image(32, 32) { c, y, x in c * 80 + y * 5 + x }
        let out = try Self.run(CIFARTransform(augment: false), img)
        for c in 0 ..< 3 { for y in 0 ..< 32 { for x in 0 ..< 32 {
            let v = Float(img.pixels[(c * 32 + y) * 32 + x])
            #expect(out[(c * 32 + y) * 32 + x] == (v / 255 - Self.mean[c]) / Self.std[c])
        } } }
        #expect(Normalization.lucirCIFAR.mean == Self.mean && Normalization.lucirCIFAR.std == Self.std)
        // The test transform refuses non-32x32 input instead of cropping silently.
        #expect(throws: DataError.self) { try Self.run(CIFARTransform(augment: false), Self.image(30, 32) { _, _, _ in 0 }) }
    }

    @Test func cifarCropReadsZeroPaddedPixelsAndFlips() throws {
        let img = Self.image(32, 32) { c, y, x in 1 + c * 70 + y * 2 + x }   // never 0
        let t = CIFARTransform(augment: true)
        let zero = (0..<3).map { (0 - Self.mean[$0]) / Self.std[$0] }
        for p in [CIFARTransform.Parameters(top: 0, left: 0, flip: false), .init(top: 8, left: 3, flip: true), .init(top: 4, left: 4, flip: true)] {
            var out = [Float](repeating: .nan, count: 3072)
            out.withUnsafeMutableBufferPointer { o in img.withView { t.apply($0, parameters: p, into: o) } }
            for c in 0 ..< 3 { for y in 0 ..< 32 { for x in 0 ..< 32 {
                let ox = p.flip ? 31 - x : x
                let sy = p.top + y - 4, sx = p.left + ox - 4
                let expected = (sy < 0 || sy >= 32 || sx < 0 || sx >= 32) ? zero[c]
                    : (Float(img.pixels[(c * 32 + sy) * 32 + sx]) / 255 - Self.mean[c]) / Self.std[c]
                #expect(out[(c * 32 + y) * 32 + x] == expected)
            } } }
        }
    }

    @Test func cifarRandomChoicesCoverTheRangeAndAreSeeded() throws {
        let t = CIFARTransform(augment: true)
        var rng = RandomGenerator(seed: 7)
        var tops = Set<Int>(), lefts = Set<Int>(), flips = 0
        for _ in 0 ..< 4000 {
            let p = t.sampleParameters(width: 32, height: 32, rng: &rng)
            tops.insert(p.top); lefts.insert(p.left); flips += p.flip ? 1 : 0
        }
        #expect(tops == Set(0 ... 8) && lefts == Set(0 ... 8))
        #expect(abs(Double(flips) / 4000 - 0.5) < 0.04)
        // apply(rng:) = apply(parameters drawn from the same generator state).
        let img = Self.image(32, 32) { c, y, x in c + y * x }
        var r = RandomGenerator(seed: 99)
        let p = t.sampleParameters(width: 32, height: 32, rng: &r)
        var manual = [Float](repeating: 0, count: 3072)
        manual.withUnsafeMutableBufferPointer { o in img.withView { t.apply($0, parameters: p, into: o) } }
        #expect(try Self.run(t, img, seed: 99) == manual)
        #expect(try Self.run(t, img, seed: 99) == Self.run(t, img, seed: 99))
    }

    // MARK: PIL bilinear

    @Test func bilinearDownscaleMatchesPILByHand() {
        // One row [0, 100, 200, 250] to width 2: PIL's antialiased triangle filter
        // (support 2) gives taps 3/7, 3/7, 1/7 and 1/7, 3/7, 3/7 -> 71 and 207.
        let img = Self.image(4, 1) { _, _, x in [0, 100, 200, 250][x] }
        let out = img.withView { BilinearResample.resize($0, height: 1, width: 2) }
        #expect(out.pixels == [71, 207, 71, 207, 71, 207])
    }

    @Test func bilinearUpscaleMatchesPILByHand() {
        // [0, 200] to width 4: centres 0.25, 0.75, 1.25, 1.75 -> 0, 50, 150, 200.
        let img = Self.image(2, 1) { _, _, x in [0, 200][x] }
        let out = img.withView { BilinearResample.resize($0, height: 1, width: 4) }
        #expect(Array(out.pixels.prefix(4)) == [0, 50, 150, 200])
        // Vertically the same filter applies.
        let col = Self.image(1, 2) { _, y, _ in [0, 200][y] }
        let outV = col.withView { BilinearResample.resize($0, height: 4, width: 1) }
        #expect(Array(outV.pixels.prefix(4)) == [0, 50, 150, 200])
    }

    @Test func bilinearKeepsConstantsAndIdentity() {
        let flat = Self.image(37, 23) { c, _, _ in 40 + c * 90 }
        let small = flat.withView { BilinearResample.resize($0, height: 9, width: 14) }
        #expect(small.pixels == Self.image(14, 9) { c, _, _ in 40 + c * 90 }.pixels)
        let img = Self.image(13, 11) { c, y, x in c * 31 + y * 17 + x * 5 }
        #expect(img.withView { BilinearResample.resize($0, height: 11, width: 13) } == img)
        // A crop of the same size is a plain copy of the window.
        let crop = img.withView { BilinearResample.resizedCrop($0, top: 2, left: 3, cropHeight: 5, cropWidth: 6, height: 5, width: 6) }
        #expect(crop == Self.image(6, 5) { c, y, x in c * 31 + (y + 2) * 17 + (x + 3) * 5 })
    }

    // MARK: ImageNet

    @Test func imagenetTestTransformIsResize256CenterCrop224() throws {
        let img = Self.image(400, 300) { c, y, x in c * 40 + (x ^ y) }
        let t = ImageNetTransform(augment: false)
        #expect(t.resizedSize(width: 400, height: 300) == (256, 341))
        #expect(t.resizedSize(width: 300, height: 400) == (341, 256))
        let out = try Self.run(t, img)
        #expect(out.count == 3 * 224 * 224)
        let resized = img.withView { BilinearResample.resize($0, height: 256, width: 341) }
        // top = round(32 / 2) = 16, left = round(117 / 2) = round(58.5) = 58 (half to even).
        let lut = Normalization.imagenet.lookupTable
        for c in 0 ..< 3 { for y in stride(from: 0, to: 224, by: 37) { for x in stride(from: 0, to: 224, by: 29) {
            let v = Int(resized.pixels[(c * 256 + 16 + y) * 341 + 58 + x])
            #expect(out[(c * 224 + y) * 224 + x] == lut[c * 256 + v])
        } } }
    }

    @Test func randomResizedCropFollowsTorchvisionsRules() {
        let t = ImageNetTransform(augment: true)
        var rng = RandomGenerator(seed: 3)
        var flips = 0
        for _ in 0 ..< 2000 {
            let p = t.sampleParameters(width: 500, height: 375, rng: &rng)
            #expect(p.top >= 0 && p.left >= 0 && p.top + p.height <= 375 && p.left + p.width <= 500)
            let area = Double(p.width * p.height) / (500 * 375)
            #expect(area > 0.07 && area <= 1.0)
            let ratio = Double(p.width) / Double(p.height)
            #expect(ratio > 0.7 && ratio < 1.4)
            #expect(p.brightnessFactor >= Float(1 - 63.0 / 255) && p.brightnessFactor <= Float(1 + 63.0 / 255))
            flips += p.flip ? 1 : 0
        }
        #expect(abs(Double(flips) / 2000 - 0.5) < 0.05)
        // A strip no attempt fits: the fallback centre crop clamped to ratio 4/3.
        var r2 = RandomGenerator(seed: 5)
        let p = t.sampleParameters(width: 1000, height: 10, rng: &r2)
        #expect(p.height == 10 && p.width == 13 && p.top == 0 && p.left == (1000 - 13) / 2)
    }

    @Test func imagenetTrainTransformComposesCropFlipBrightness() throws {
        let img = Self.image(120, 90) { c, y, x in c * 60 + y + x }
        let t = ImageNetTransform(augment: true)
        let out = try Self.run(t, img, seed: 11)
        var rng = RandomGenerator(seed: 11)
        let p = t.sampleParameters(width: 120, height: 90, rng: &rng)
        let crop = img.withView { BilinearResample.resizedCrop($0, top: p.top, left: p.left, cropHeight: p.height, cropWidth: p.width, height: 224, width: 224) }
        let lut = Normalization.imagenet.lookupTable
        for c in 0 ..< 3 { for y in stride(from: 0, to: 224, by: 13) { for x in stride(from: 0, to: 224, by: 7) {
            let v = Float(crop.pixels[(c * 224 + y) * 224 + (p.flip ? 223 - x : x)])
            let jittered = min(255, Int(v * p.brightnessFactor))        // PIL: trunc(v * f), clipped
            #expect(out[(c * 224 + y) * 224 + x] == lut[c * 256 + jittered])
        } } }
    }

    // MARK: PODNet's CIFAR pipeline

    static let podnetMean: [Float] = [0.5071, 0.4867, 0.4408]
    static let podnetStd: [Float] = [0.2675, 0.2565, 0.2761]

    /// torchvision 0.4's pipeline written out naively for one output element: zero
    /// padding by 4, the crop window, the mirror, PIL's brightness on the 8-bit value
    /// (trunc(v·f) in float32, at most 255), then ToTensor and Normalize.
    static func podnetReference(_ img: RGBImage, _ p: CIFARTransform.Parameters, c: Int, y: Int, x: Int) -> Float {
        let sy = p.top + y - 4, sx = p.left + (p.flip ? 31 - x : x) - 4
        let v: Int = (sy < 0 || sy >= 32 || sx < 0 || sx >= 32) ? 0 : Int(img.pixels[(c * 32 + sy) * 32 + sx])
        var jittered = Float(v) * p.brightnessFactor
        jittered = jittered >= 255 ? 255 : jittered.rounded(.towardZero)
        return (jittered / 255 - podnetMean[c]) / podnetStd[c]
    }

    @Test func podnetCIFARTrainTransformIsCropFlipBrightnessAgainstANaiveReference() throws {
        #expect(Normalization.podnetCIFAR.mean == Self.podnetMean && Normalization.podnetCIFAR.std == Self.podnetStd)
        let t = try #require(Preprocessing.podnetCIFAR.train as? CIFARTransform)
        #expect(t.augment && t.brightness == 63.0 / 255.0 && t.padding == 4 && t.flipProbability == 0.5)
        let img = Self.image(32, 32) { c, y, x in (c * 97 + y * 31 + x * 7) % 256 }   // every value 0...255 occurs
        let cases: [CIFARTransform.Parameters] = [
            .init(top: 0, left: 8, flip: true, brightnessFactor: 1.2470588),   // the largest factor: saturates at 255
            .init(top: 5, left: 2, flip: false, brightnessFactor: 0.7529412),  // the smallest
            .init(top: 4, left: 4, flip: false, brightnessFactor: 1.0001),
        ]
        for p in cases {
            var out = [Float](repeating: .nan, count: 3072)
            out.withUnsafeMutableBufferPointer { o in img.withView { t.apply($0, parameters: p, into: o) } }
            var saturated = 0
            for c in 0 ..< 3 { for y in 0 ..< 32 { for x in 0 ..< 32 {
                let got = out[(c * 32 + y) * 32 + x]
                #expect(got == Self.podnetReference(img, p, c: c, y: y, x: x), "f \(p.brightnessFactor) at \(c),\(y),\(x)")
                // torchvision's tensor rule, clamp(x·f, 0, 1), differs only by the 8-bit truncation.
                let sy = p.top + y - 4, sx = p.left + (p.flip ? 31 - x : x) - 4
                let v = (sy < 0 || sy >= 32 || sx < 0 || sx >= 32) ? 0 : Float(img.pixels[(c * 32 + sy) * 32 + sx])
                let tensorRule = min(max(v / 255 * p.brightnessFactor, 0), 1)
                let unnormalised = got * Self.podnetStd[c] + Self.podnetMean[c]
                #expect(unnormalised <= tensorRule + 1e-5 && tensorRule - unnormalised < 1.0 / 255 + 1e-5)
                if v * p.brightnessFactor >= 255 { saturated += 1 }
            } } }
            if p.brightnessFactor > 1.2 { #expect(saturated > 0, "the clamp at 255 is exercised") }
        }
    }

    @Test func podnetCIFARBrightnessFactorIsUniformIn1MinusBTo1PlusB() throws {
        let b = 63.0 / 255.0
        let t = CIFARTransform(augment: true, brightness: b, normalization: .podnetCIFAR)
        var rng = RandomGenerator(seed: 5)
        let factors = (0 ..< 20_000).map { _ in Double(t.sampleParameters(width: 32, height: 32, rng: &rng).brightnessFactor) }
        #expect(factors.allSatisfy { $0 >= 1 - b - 1e-6 && $0 <= 1 + b + 1e-6 })
        #expect(factors.min()! < 1 - b + 0.002 && factors.max()! > 1 + b - 0.002)
        let mean = factors.reduce(0, +) / Double(factors.count)
        let variance = factors.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(factors.count)
        #expect(abs(mean - 1) < 0.003)
        #expect(abs(variance - (2 * b) * (2 * b) / 12) < 0.0015, "uniform: variance (2b)²/12")
        let below = factors.filter { $0 < 1 }.count
        #expect(abs(Double(below) / Double(factors.count) - 0.5) < 0.02)
        // The crop and flip are drawn first, as before: the MANets pipeline draws nothing more.
        var r1 = RandomGenerator(seed: 12), r2 = RandomGenerator(seed: 12)
        let with = t.sampleParameters(width: 32, height: 32, rng: &r1)
        let without = CIFARTransform(augment: true).sampleParameters(width: 32, height: 32, rng: &r2)
        #expect(with.top == without.top && with.left == without.left && with.flip == without.flip)
        #expect(without.brightnessFactor == 1)
        var r3 = RandomGenerator(seed: 12), r4 = RandomGenerator(seed: 12)
        for _ in 0 ..< 100 { _ = CIFARTransform(augment: true).sampleParameters(width: 32, height: 32, rng: &r3) }
        for _ in 0 ..< 100 { _ = CIFARTransform(augment: true, brightness: nil).sampleParameters(width: 32, height: 32, rng: &r4) }
        #expect(r3.next() == r4.next(), "no brightness: the same random stream")
    }

    @Test func podnetCIFARTestTransformIsToTensorAndPODNetsNormalize() throws {
        let img = Self.image(32, 32) { c, y, x in c * 80 + y * 5 + x }
        let out = try Self.run(Preprocessing.podnetCIFAR.test, img)
        for c in 0 ..< 3 { for y in 0 ..< 32 { for x in 0 ..< 32 {
            let v = Float(img.pixels[(c * 32 + y) * 32 + x])
            #expect(out[(c * 32 + y) * 32 + x] == (v / 255 - Self.podnetMean[c]) / Self.podnetStd[c])
        } } }
        #expect(Preprocessing.podnetCIFAR.family == .cifar && Preprocessing.podnetImageNet.family == .imagenet)
        #expect(Preprocessing.podnetCIFAR.normalization == .podnetCIFAR && Preprocessing.cifar.normalization == .lucirCIFAR)
        #expect(Preprocessing.podnetImageNet.normalization == .imagenet)
    }

    /// PODNet's class means average each exemplar's features with its horizontal
    /// mirror's (`RandomHorizontalFlip(p=1)` before the test transform); the MANets
    /// pipelines keep their channel swap (CIFAR) and no flip (ImageNet) when faithful.
    @Test func classMeanFlipFollowsThePipelinesCode() {
        #expect(ExemplarFlip.of(mode: .faithful, preprocessing: .podnetCIFAR) == .horizontal)
        #expect(ExemplarFlip.of(mode: .faithful, preprocessing: .podnetImageNet) == .horizontal)
        #expect(ExemplarFlip.of(mode: .faithful, preprocessing: .cifar) == .channelSwap(.lucirCIFAR))
        #expect(ExemplarFlip.of(mode: .faithful, preprocessing: .imagenet) == ExemplarFlip.none)
        for p in Preprocessing.allCases { #expect(ExemplarFlip.of(mode: .corrected, preprocessing: p) == .horizontal) }
        // The mirror of a normalised 1×3×2×3 batch.
        let batch = Tensor(shape: [1, 3, 2, 3], (0 ..< 18).map(Float.init))
        #expect(ExemplarFlip.horizontal.apply(batch)?.scalars == [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9, 14, 13, 12, 17, 16, 15])
    }

    @Test func aDatasetTakesAnotherPipelineOfItsFamilyOnly() throws {
        let data = try SyntheticDataset.make(.init(numClasses: 2, imagesPerClass: 2, testImagesPerClass: 1, seed: 3))
        #expect(data.preprocessing == .cifar)
        let podnet = try data.with(preprocessing: .podnetCIFAR)
        #expect(podnet.preprocessing == .podnetCIFAR && podnet.numClasses == 2 && podnet.train.count == data.train.count)
        #expect(throws: DataError.invalidSetting(name: "preprocessing", value: "podnet-imagenet",
                                                 expected: "a pipeline for cifar-style images like synthetic's")) {
            _ = try data.with(preprocessing: .podnetImageNet)
        }
    }
}
