import CKernels

/// Geometry of a 2-D convolution or pooling window over an NCHW batch.
public struct ConvGeometry: Equatable, Sendable {
    public let batch: Int, channels: Int, height: Int, width: Int
    public let kernelH: Int, kernelW: Int, stride: Int, padding: Int
    /// Output size: ⌊(H + 2p − k) / s⌋ + 1.
    public var outH: Int { (height + 2 * padding - kernelH) / stride + 1 }
    public var outW: Int { (width + 2 * padding - kernelW) / stride + 1 }
    /// Output pixels per image.
    public var outPixels: Int { outH * outW }
    /// Rows of the im2col matrix: C·kH·kW.
    public var patchSize: Int { channels * kernelH * kernelW }

    public init(batch: Int, channels: Int, height: Int, width: Int,
                kernelH: Int, kernelW: Int, stride: Int, padding: Int) {
        self.batch = batch; self.channels = channels; self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW; self.stride = stride; self.padding = padding
    }
}

/// im2col / col2im for ONE image (the conv op runs images in parallel, each
/// thread with its own cache-resident column buffer). The column matrix is
/// [C·kH·kW, P]: row (c, u, v), column i·W_out + j holds xpad[c, i·s + u, j·s + v].
enum Im2col {
    /// Fills `col` ([patchSize, P]) from one image `x` ([C, H, W]).
    static func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let P = g.outPixels, HW = g.height * g.width
        let oh = g.outH, ow = g.outW, s = g.stride, p = g.padding
        for row in 0..<g.patchSize {
            let v = row % g.kernelW, u = (row / g.kernelW) % g.kernelH, c = row / (g.kernelW * g.kernelH)
            let src = x + c * HW
            let dst = col + row * P
            // Output columns j whose input column j·s − p + v lies inside.
            let jLo = min(ow, max(0, (p - v + s - 1) / s))
            let lastInside = g.width - 1 + p - v
            let jHi = lastInside < 0 ? 0 : max(jLo, min(ow, lastInside / s + 1))
            for i in 0..<oh {
                let h = i * s - p + u
                let d = dst + i * ow
                if h < 0 || h >= g.height {
                    d.update(repeating: 0, count: ow)
                    continue
                }
                let srcRow = src + h * g.width
                if jLo > 0 { d.update(repeating: 0, count: jLo) }
                if s == 1 {
                    if jHi > jLo { (d + jLo).update(from: srcRow + (jLo - p + v), count: jHi - jLo) }
                } else if s == 2 {
                    if jHi > jLo { cil_gather_even(srcRow + (jLo * 2 - p + v), d + jLo, jHi - jLo) }
                } else {
                    for j in jLo..<jHi { d[j] = srcRow[j * s - p + v] }
                }
                if jHi < ow { (d + jHi).update(repeating: 0, count: ow - jHi) }
            }
        }
    }

    /// Writes the sum of the columns of `col` into one image's gradient `dx`
    /// ([C, H, W], overwritten).
    static func col2im(_ col: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let P = g.outPixels, HW = g.height * g.width
        let oh = g.outH, ow = g.outW, s = g.stride, p = g.padding
        dx.update(repeating: 0, count: g.channels * HW)
        for c in 0..<g.channels {
            let dst = dx + c * HW
            for u in 0..<g.kernelH {
                for v in 0..<g.kernelW {
                    let src = col + ((c * g.kernelH + u) * g.kernelW + v) * P
                    let jLo = max(0, (p - v + s - 1) / s)
                    let lastInside = g.width - 1 + p - v
                    let jHi = lastInside < 0 ? 0 : min(ow, lastInside / s + 1)
                    if jHi <= jLo { continue }
                    for i in 0..<oh {
                        let h = i * s - p + u
                        if h < 0 || h >= g.height { continue }
                        let sr = src + i * ow
                        if s == 1 {
                            let d = dst + h * g.width + (v - p)
                            for j in jLo..<jHi { d[j] += sr[j] }
                        } else {
                            let d = dst + h * g.width
                            for j in jLo..<jHi { d[j * s - p + v] += sr[j] }
                        }
                    }
                }
            }
        }
    }
}
