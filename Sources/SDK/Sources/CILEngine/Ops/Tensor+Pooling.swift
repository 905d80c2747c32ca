// Average and max pooling over NCHW maps (no padding for average pooling).

extension Tensor {
    /// Average over each k×k window with stride s (no padding): [N,C,H,W] ->
    /// [N,C,⌊(H−k)/s⌋+1, ⌊(W−k)/s⌋+1].
    public func avgPool2d(kernel k: Int, stride s: Int? = nil) -> Tensor {
        precondition(rank == 4, "avgPool2d: needs NCHW input, got \(shape)")
        let s = s ?? k
        let g = ConvGeometry(batch: shape[0], channels: shape[1], height: shape[2], width: shape[3],
                             kernelH: k, kernelW: k, stride: s, padding: 0)
        precondition(g.outH > 0 && g.outW > 0, "avgPool2d: kernel \(k) larger than input \(shape)")
        let oh = g.outH, ow = g.outW, H = g.height, W = g.width
        let y = TensorStorage(uninitializedCount: g.batch * g.channels * oh * ow)
        let x = storage.pointer
        let inv = 1 / Float(k * k)
        Parallel.forEach(g.batch * g.channels, grain: 8) { nc in
            let src = x + nc * H * W, dst = y.pointer + nc * oh * ow
            for i in 0..<oh {
                for j in 0..<ow {
                    var acc: Float = 0
                    for u in 0..<k { for v in 0..<k { acc += src[(i * s + u) * W + j * s + v] } }
                    dst[i * ow + j] = acc * inv
                }
            }
        }
        let inShape = shape
        return Tensor.result("avgPool2d", shape: [g.batch, g.channels, oh, ow], storage: y, inputs: [self]) { grad in
            let gx = Tensor.zeros(inShape)
            let gp = grad.storage.pointer, o = gx.storage.pointer
            Parallel.forEach(g.batch * g.channels, grain: 8) { nc in
                let src = gp + nc * oh * ow, dst = o + nc * H * W
                for i in 0..<oh {
                    for j in 0..<ow {
                        let v0 = src[i * ow + j] * inv
                        for u in 0..<k { for v in 0..<k { dst[(i * s + u) * W + j * s + v] += v0 } }
                    }
                }
            }
            return [gx]
        }
    }

    /// Mean over H and W: [N, C, H, W] -> [N, C].
    public func globalAvgPool() -> Tensor {
        precondition(rank == 4, "globalAvgPool: needs NCHW input, got \(shape)")
        let N = shape[0], C = shape[1], HW = shape[2] * shape[3]
        let y = TensorStorage(uninitializedCount: N * C)
        let x = storage.pointer
        let inv = 1 / Float(HW)
        for nc in 0..<(N * C) {
            var acc: Float = 0
            for i in 0..<HW { acc += x[nc * HW + i] }
            y.pointer[nc] = acc * inv
        }
        let inShape = shape
        return Tensor.result("globalAvgPool", shape: [N, C], storage: y, inputs: [self]) { grad in
            let gx = Tensor(uninitializedShape: inShape)
            for nc in 0..<(N * C) {
                (gx.storage.pointer + nc * HW).update(repeating: grad.storage.pointer[nc] * inv, count: HW)
            }
            return [gx]
        }
    }

    /// Max over k×k windows with stride s and padding p (padding never wins); the
    /// gradient goes to the first maximal element of each window. torchvision's
    /// ResNet stem uses k 3, s 2, p 1.
    public func maxPool2d(kernel k: Int = 3, stride s: Int = 2, padding p: Int = 1) -> Tensor {
        precondition(rank == 4, "maxPool2d: needs NCHW input, got \(shape)")
        precondition(p <= k / 2, "maxPool2d: padding \(p) must be at most half the kernel \(k)")
        let g = ConvGeometry(batch: shape[0], channels: shape[1], height: shape[2], width: shape[3],
                             kernelH: k, kernelW: k, stride: s, padding: p)
        let oh = g.outH, ow = g.outW, H = g.height, W = g.width
        let count = g.batch * g.channels * oh * ow
        let y = TensorStorage(uninitializedCount: count)
        let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        let arg = UncheckedBox(argmax)
        let x = storage.pointer
        Parallel.forEach(g.batch * g.channels, grain: 8) { nc in
            let src = x + nc * H * W
            for i in 0..<oh {
                for j in 0..<ow {
                    var best = -Float.infinity, bi = -1
                    for u in 0..<k {
                        let h = i * s - p + u
                        if h < 0 || h >= H { continue }
                        for v in 0..<k {
                            let w = j * s - p + v
                            if w < 0 || w >= W { continue }
                            let val = src[h * W + w]
                            if bi < 0 || val > best { best = val; bi = h * W + w }
                        }
                    }
                    y.pointer[(nc * oh + i) * ow + j] = best
                    arg.value[(nc * oh + i) * ow + j] = Int32(bi)
                }
            }
        }
        let indices = ArgmaxBuffer(pointer: argmax, count: count)
        let inShape = shape
        return Tensor.result("maxPool2d", shape: [g.batch, g.channels, oh, ow], storage: y, inputs: [self]) { grad in
            let gx = Tensor.zeros(inShape)
            let gp = grad.storage.pointer, o = gx.storage.pointer, a = indices.pointer
            Parallel.forEach(g.batch * g.channels, grain: 8) { nc in
                for q in 0..<(oh * ow) {
                    let idx = nc * oh * ow + q
                    o[nc * H * W + Int(a[idx])] += gp[idx]
                }
            }
            return [gx]
        }
    }
}

/// Owns the argmax indices a max-pool keeps for its backward pass.
final class ArgmaxBuffer {
    let pointer: UnsafeMutablePointer<Int32>
    let count: Int
    init(pointer: UnsafeMutablePointer<Int32>, count: Int) { self.pointer = pointer; self.count = count }
    deinit { pointer.deallocate() }
}
