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

/// im2col / col2im for a whole batch. The column matrix is [C·kH·kW, N·P]: row
/// (c, u, v), column n·P + (i·W_out + j) holds xpad[n, c, i·s + u, j·s + v].
enum Im2col {
    /// Fills `col` ([patchSize, N·P]) from `x` ([N, C, H, W]).
    static func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let P = g.outPixels, NP = g.batch * P, HW = g.height * g.width
        let oh = g.outH, ow = g.outW, s = g.stride, p = g.padding
        Parallel.forEach(g.patchSize, grain: 4) { row in
            let v = row % g.kernelW, u = (row / g.kernelW) % g.kernelH, c = row / (g.kernelW * g.kernelH)
            let dstRow = col + row * NP
            for n in 0..<g.batch {
                let src = x + (n * g.channels + c) * HW
                let dst = dstRow + n * P
                for i in 0..<oh {
                    let h = i * s - p + u
                    let d = dst + i * ow
                    if h < 0 || h >= g.height {
                        d.update(repeating: 0, count: ow)
                        continue
                    }
                    let srcRow = src + h * g.width
                    if s == 1 {
                        // Columns j with 0 <= j - p + v < W are copied; the rest are padding.
                        let lo = max(0, p - v), hi = min(ow, g.width + p - v)
                        if lo > 0 { d.update(repeating: 0, count: lo) }
                        if hi > lo { (d + lo).update(from: srcRow + (lo - p + v), count: hi - lo) }
                        if hi < ow { (d + max(hi, lo)).update(repeating: 0, count: ow - max(hi, lo)) }
                    } else {
                        for j in 0..<ow {
                            let w = j * s - p + v
                            d[j] = (w >= 0 && w < g.width) ? srcRow[w] : 0
                        }
                    }
                }
            }
        }
    }

    /// Adds the columns of `col` back into `dx` ([N, C, H, W], zeroed here first).
    static func col2im(_ col: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let P = g.outPixels, NP = g.batch * P, HW = g.height * g.width
        let oh = g.outH, ow = g.outW, s = g.stride, p = g.padding
        Parallel.forEach(g.batch * g.channels, grain: 2) { nc in
            let n = nc / g.channels, c = nc % g.channels
            let dst = dx + nc * HW
            dst.update(repeating: 0, count: HW)
            for u in 0..<g.kernelH {
                for v in 0..<g.kernelW {
                    let row = (c * g.kernelH + u) * g.kernelW + v
                    let src = col + row * NP + n * P
                    // Output columns j whose input column j·s − p + v lies inside.
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

    /// [O, N·P] -> [N, O, P].
    static func channelMajorToBatchMajor(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                                         channels: Int, batch: Int, pixels: Int) {
        Parallel.forEach(batch, grain: 1) { n in
            for o in 0..<channels {
                (dst + (n * channels + o) * pixels).update(from: src + o * batch * pixels + n * pixels, count: pixels)
            }
        }
    }

    /// [N, O, P] -> [O, N·P].
    static func batchMajorToChannelMajor(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                                         channels: Int, batch: Int, pixels: Int) {
        Parallel.forEach(batch, grain: 1) { n in
            for o in 0..<channels {
                (dst + o * batch * pixels + n * pixels).update(from: src + (n * channels + o) * pixels, count: pixels)
            }
        }
    }
}
