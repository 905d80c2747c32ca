// 08_podnet.json: the official PODNet definitions (pod spatial, embeddings
// similarity, nca as coded, LSC proxy reduction and forward), composed from ops.

import CILSDK
import Testing

extension VectorOps {
    /// PODNet `pod(..., collapse_channels: "spatial", normalize: true)`, one map: the
    /// per-sample L2-normalised [Σ_W x², Σ_H x²] vector (channel-major), [N, C·H + C·W].
    static func podSpatialVector(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        let a = x.square()
        let aH = a.sum(axes: [3]).reshaped([n, -1])
        let aW = a.sum(axes: [2]).reshaped([n, -1])
        return Tensor.concatenate([aH, aW], axis: 1).l2Normalized(axis: 1)
    }

    /// PODNet `pod` spatial loss: mean over maps of mean_n ‖v_old − v_new‖₂.
    static func podSpatialLoss(old: [Tensor], new: [Tensor]) -> (loss: Tensor, vOld: [Tensor], vNew: [Tensor]) {
        let vOld = old.map(VectorOps.podSpatialVector), vNew = new.map(VectorOps.podSpatialVector)
        var total: Tensor?
        for (a, b) in zip(vOld, vNew) {
            let layer = (a - b).square().sum(axes: [1]).sqrt().mean()
            total = total.map { $0 + layer } ?? layer
        }
        return (total! / Float(old.count), vOld, vNew)
    }

    /// PODNet `nca` as coded (exclude_pos_denominator, no class weights, no hinge).
    static func podnetNCA(_ similarities: Tensor, targets: [Int], scale: Tensor, margin: Float) -> Tensor {
        let b = similarities.shape[0], c = similarities.shape[1]
        var onehot = [Float](repeating: 0, count: b * c)
        for (i, t) in targets.enumerated() { onehot[i * c + t] = 1 }
        var s = scale * (similarities - margin)
        s = s - s.max(axis: 1, keepDims: true)  // gradient flows through the max
        let disablePos = s * Tensor(shape: [b, c], onehot)
        let numerator = s.gathered(targets.map { [$0] }).reshaped([b])
        let denominator = s - disablePos
        let losses = numerator - denominator.exp().sum(axes: [1]).log()
        return (-losses).mean()
    }

    /// PODNet `CosineClassifier._reduce_proxies`, softmax merging: [B, C·P] -> [B, C].
    static func reduceProxies(_ r: Tensor, proxiesPerClass p: Int, gamma: Float) -> Tensor {
        let b = r.shape[0]
        let perClass = r.reshaped([b, -1, p])
        let attention = (perClass * gamma).softmax(axis: 2)
        return (perClass * attention).sum(axes: [2])
    }

    /// −stable_cosine_distance(normalize(f), normalize(w)) (squared, clamped at 0).
    static func negStableCosineDistance(_ features: Tensor, _ weights: Tensor) -> Tensor {
        let f = features.l2Normalized(axis: 1), w = weights.l2Normalized(axis: 1)
        let fsq = f.square().sum(axes: [1], keepDims: true)  // [B, 1]
        let wsq = w.square().sum(axes: [1]).reshaped([1, -1])  // [1, P]
        let d = (fsq + wsq - 2 * Tensor.matmul(f, w, transposeB: true)).clamped(min: 0)
        return -d
    }
}

@Suite("TestVector 08 podnet")
struct TestVectorPodnetTests {
    static let file = "08_podnet.json"

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, ["pod_spatial", "pod_flat", "nca_scale_1.0", "nca_scale_3.5",
                                        "lsc_reduce_proxies", "lsc_forward"])
    }

    @Test("pod_spatial: loss, normalised vectors, gradients (new and old maps)")
    func podSpatial() throws {
        let c = try TestVectors.loadCase(Self.file, "pod_spatial")
        let tol = c.tolerance
        let old = try (0..<2).map { try c.input("old_\($0)").tensor(requiresGrad: true) }
        let new = try (0..<2).map { try c.input("new_\($0)").tensor(requiresGrad: true) }
        let pod = VectorOps.podSpatialLoss(old: old, new: new)
        expectVectorClose(pod.loss, try c.output("loss"), tol, c.label("loss"))
        for i in 0..<2 {
            for (side, v) in [("old", pod.vOld[i]), ("new", pod.vNew[i])] {
                let key = "pooled_normalized_\(side)_\(i)"
                expectVectorClose(v, try c.output(key), tol, c.label(key))
            }
        }
        pod.loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["new_0", "new_1", "old_0", "old_1"])
        for i in 0..<2 {
            expectVectorClose(new[i].grad, try c.grad("new_\(i)"), tol, c.label("grad new_\(i)"))
            expectVectorClose(old[i].grad, try c.grad("old_\(i)"), tol, c.label("grad old_\(i)"))
        }
    }

    @Test("pod_flat: mean_b (1 - cos)")
    func podFlat() throws {
        let c = try TestVectors.loadCase(Self.file, "pod_flat")
        let tol = c.tolerance
        let old = try c.input("old_features").tensor(requiresGrad: true)
        let new = try c.input("features").tensor(requiresGrad: true)
        let loss = Tensor.cosineEmbeddingLoss(new, old, targets: [Int](repeating: 1, count: new.shape[0]))
        expectVectorClose(loss, try c.output("loss"), tol, c.label("loss"))
        loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["features", "old_features"])
        expectVectorClose(new.grad, try c.grad("features"), tol, c.label("grad features"))
        expectVectorClose(old.grad, try c.grad("old_features"), tol, c.label("grad old_features"))
    }

    @Test("nca as coded: loss and gradients w.r.t. similarities and scale", arguments: ["nca_scale_1.0", "nca_scale_3.5"])
    func nca(caseName: String) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let tol = c.tolerance
        #expect(try c.raw("params", "exclude_pos_denominator").boolValue == true)
        #expect(try c.raw("params", "class_weights").isNull)
        #expect(try c.raw("params", "hinge_proxynca").boolValue == false)
        let s = try c.input("similarities").tensor(requiresGrad: true)
        let scale = try c.input("scale").tensor(requiresGrad: true)
        #expect(scale.shape == [])
        let loss = VectorOps.podnetNCA(s, targets: try c.intInput("targets"), scale: scale,
                                       margin: try c.floatParam("margin"))
        expectVectorClose(loss, try c.output("loss"), tol, c.label("loss"))
        loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["similarities", "scale"])
        expectVectorClose(s.grad, try c.grad("similarities"), tol, c.label("grad similarities"))
        expectVectorClose(scale.grad, try c.grad("scale"), tol, c.label("grad scale"))
    }

    @Test("lsc_reduce_proxies: softmax merging of 10 proxies per class")
    func lscReduceProxies() throws {
        let c = try TestVectors.loadCase(Self.file, "lsc_reduce_proxies")
        let tol = c.tolerance
        let r = try c.input("raw_similarities").tensor(requiresGrad: true)
        let out = VectorOps.reduceProxies(r, proxiesPerClass: try c.intParam("proxy_per_class"),
                                          gamma: try c.floatParam("gamma"))
        expectVectorClose(out, try c.output("similarities"), tol, c.label("similarities"))
        out.backward(try c.upstream("similarities"))
        expectVectorKeys(c, "grads", ["raw_similarities"])
        expectVectorClose(r.grad, try c.grad("raw_similarities"), tol, c.label("grad raw_similarities"))
    }

    @Test("lsc_forward: neg stable cosine distance, proxy reduction, gradients")
    func lscForward() throws {
        let c = try TestVectors.loadCase(Self.file, "lsc_forward")
        let tol = c.tolerance
        #expect(try c.intParam("scaling") == 1)
        let f = try c.input("features").tensor(requiresGrad: true)
        let w = try c.input("weights").tensor(requiresGrad: true)
        let raw = VectorOps.negStableCosineDistance(f, w)
        expectVectorClose(raw, try c.output("raw_logits"), tol, c.label("raw_logits"))
        let logits = VectorOps.reduceProxies(raw, proxiesPerClass: try c.intParam("proxy_per_class"),
                                             gamma: try c.floatParam("gamma"))
        expectVectorClose(logits, try c.output("logits"), tol, c.label("logits"))
        logits.backward(try c.upstream("logits"))
        expectVectorKeys(c, "grads", ["features", "weights"])
        expectVectorClose(f.grad, try c.grad("features"), tol, c.label("grad features"))
        expectVectorClose(w.grad, try c.grad("weights"), tol, c.label("grad weights"))
    }
}
