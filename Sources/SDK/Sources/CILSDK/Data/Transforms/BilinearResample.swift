/// PIL's bilinear resize of 8-bit images (`Image.resize(size, Image.BILINEAR)`,
/// libImaging/Resample.c), which torchvision's `Resize` and `RandomResizedCrop` call
/// on PIL images.
///
/// Contract, as in PIL: separable, horizontal pass then vertical pass; each output
/// pixel is a normalised triangle-filter average whose support widens with the
/// down-scaling factor (so shrinking is antialiased); weights are rounded to 22-bit
/// fixed point, each pass rounds and clamps to 0...255. Given the same decoded
/// input, the result is PIL's byte for byte.
public enum BilinearResample {
    /// PIL's `PRECISION_BITS` for 8-bit images (32 - 8 - 2).
    static let precisionBits = 22

    /// The taps of one pass: output `i` reads input `start[i] ..< start[i] + taps[i]`
    /// with weights `weights[i * kernelSize ..< ... + taps[i]]` (fixed point).
    struct Pass {
        var start: [Int]
        var taps: [Int]
        var weights: [Int32]
        var kernelSize: Int
    }

    /// PIL's `precompute_coeffs` with the bilinear filter (support 1), then
    /// `normalize_coeffs_8bpc`: maps `in0 ..< in1` of an input of `inSize` pixels
    /// onto `outSize` pixels.
    static func pass(inSize: Int, in0: Double, in1: Double, outSize: Int) -> Pass {
        let scale = (in1 - in0) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        var start = [Int](repeating: 0, count: outSize)
        var taps = [Int](repeating: 0, count: outSize)
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        var k = [Double](repeating: 0, count: kernelSize)
        let one = Double(1 << precisionBits)
        for xx in 0 ..< outSize {
            let center = in0 + (Double(xx) + 0.5) * scale
            let ss = 1.0 / filterScale
            // C's (int) cast truncates toward zero.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var ww = 0.0
            for x in 0 ..< max(xmax, 0) {
                var t = (Double(x + xmin) - center + 0.5) * ss
                if t < 0 { t = -t }
                let w = t < 1 ? 1 - t : 0
                k[x] = w
                ww += w
            }
            for x in 0 ..< max(xmax, 0) {
                let v = ww != 0 ? k[x] / ww : k[x]
                weights[xx * kernelSize + x] = Int32(v < 0 ? -0.5 + v * one : 0.5 + v * one)
            }
            start[xx] = xmin
            taps[xx] = max(xmax, 0)
        }
        return Pass(start: start, taps: taps, weights: weights, kernelSize: kernelSize)
    }

    @inline(__always)
    static func clip8(_ sum: Int32) -> UInt8 {
        let v = sum >> Int32(precisionBits)
        return v < 0 ? 0 : (v > 255 ? 255 : UInt8(v))
    }

    /// Crops `image` to the rectangle at (`left`, `top`) of `cropWidth`×`cropHeight`
    /// (inside the image) and resizes the crop to `width`×`height`, as torchvision's
    /// `resized_crop` does on a PIL image (crop, then resize: the filter never reads
    /// outside the crop). Returns planar RGB.
    public static func resizedCrop(_ image: ImageView, top: Int, left: Int, cropHeight: Int, cropWidth: Int,
                                   height: Int, width: Int) -> RGBImage {
        precondition(top >= 0 && left >= 0 && cropHeight > 0 && cropWidth > 0 &&
                     top + cropHeight <= image.height && left + cropWidth <= image.width,
                     "crop (\(left), \(top), \(cropWidth)x\(cropHeight)) outside a \(image.width)x\(image.height) image")
        let needH = width != cropWidth
        let needV = height != cropHeight
        let horizontal = pass(inSize: cropWidth, in0: 0, in1: Double(cropWidth), outSize: width)
        let vertical = pass(inSize: cropHeight, in0: 0, in1: Double(cropHeight), outSize: height)
        var out = [UInt8](repeating: 0, count: 3 * width * height)

        // Rows of the crop the vertical pass reads.
        let firstRow = needV ? vertical.start[0] : 0
        let lastRow = needV ? vertical.start[height - 1] + vertical.taps[height - 1] : cropHeight
        let tempRows = lastRow - firstRow
        let tempWidth = needH ? width : cropWidth
        var temp = [UInt8](repeating: 0, count: 3 * tempWidth * max(tempRows, 0))

        let src = image.pixels.baseAddress!
        let iw = image.width, ih = image.height
        temp.withUnsafeMutableBufferPointer { temp in
            // Horizontal pass (or a plain copy of the needed rows).
            for c in 0 ..< 3 {
                for r in 0 ..< tempRows {
                    let inRow = src + (c * ih + top + firstRow + r) * iw + left
                    let outRow = temp.baseAddress! + (c * tempRows + r) * tempWidth
                    if needH {
                        horizontal.weights.withUnsafeBufferPointer { wts in
                            for xx in 0 ..< width {
                                var ss = Int32(1 << (precisionBits - 1))
                                let k = wts.baseAddress! + xx * horizontal.kernelSize
                                let x0 = horizontal.start[xx]
                                for x in 0 ..< horizontal.taps[xx] { ss &+= Int32(inRow[x0 + x]) &* k[x] }
                                outRow[xx] = clip8(ss)
                            }
                        }
                    } else {
                        for x in 0 ..< cropWidth { outRow[x] = inRow[x] }
                    }
                }
            }
            // Vertical pass (or a copy).
            out.withUnsafeMutableBufferPointer { out in
                for c in 0 ..< 3 {
                    let plane = temp.baseAddress! + c * tempRows * tempWidth
                    let outPlane = out.baseAddress! + c * height * width
                    if needV {
                        // Row-wise accumulation (same sums as PIL's per-pixel loop).
                        var acc = [Int32](repeating: 0, count: width)
                        vertical.weights.withUnsafeBufferPointer { wts in
                            acc.withUnsafeMutableBufferPointer { acc in
                                for yy in 0 ..< height {
                                    let k = wts.baseAddress! + yy * vertical.kernelSize
                                    let y0 = vertical.start[yy] - firstRow
                                    for xx in 0 ..< width { acc[xx] = Int32(1 << (precisionBits - 1)) }
                                    for y in 0 ..< vertical.taps[yy] {
                                        let w = k[y]
                                        let row = plane + (y0 + y) * tempWidth
                                        for xx in 0 ..< width { acc[xx] &+= Int32(row[xx]) &* w }
                                    }
                                    let o = outPlane + yy * width
                                    for xx in 0 ..< width { o[xx] = clip8(acc[xx]) }
                                }
                            }
                        }
                    } else {
                        for i in 0 ..< height * width { outPlane[i] = plane[i] }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Resizes the whole image to `width`×`height`.
    public static func resize(_ image: ImageView, height: Int, width: Int) -> RGBImage {
        resizedCrop(image, top: 0, left: 0, cropHeight: image.height, cropWidth: image.width, height: height, width: width)
    }
}
