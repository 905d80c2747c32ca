import CILSDK
import Foundation
import Testing

/// Transforms (docs/ALGORITHMS.md §1.6): CIFAR crop/flip/normalise with LUCIR's
/// constants, the ImageNet pipelines, PIL's bilinear resampling on hand-computed cases.
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
}
