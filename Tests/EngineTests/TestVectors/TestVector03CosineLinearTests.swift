// 03_cosine_linear.json: AANets CosineLinear (with σ) and SplitCosineLinear, composed
// from engine ops: logits = σ · normalize(x) · normalize(W)ᵀ.

import CILSDK
import Testing

extension VectorOps {
    /// Unscaled cosines of the rows of x with the rows of w: normalize(x) · normalize(w)ᵀ.
    static func cosineScores(_ x: Tensor, _ w: Tensor) -> Tensor {
        Tensor.matmul(x.l2Normalized(axis: 1), w.l2Normalized(axis: 1), transposeB: true)
    }

    /// SplitCosineLinear: σ · cat(cos(x, W1), cos(x, W2)), with the unscaled halves.
    static func splitCosineLinear(_ x: Tensor, _ w1: Tensor, _ w2: Tensor, sigma: Tensor)
        -> (logits: Tensor, cos1: Tensor, cos2: Tensor) {
        let cos1 = VectorOps.cosineScores(x, w1), cos2 = VectorOps.cosineScores(x, w2)
        return (sigma * Tensor.concatenate([cos1, cos2], axis: 1), cos1, cos2)
    }
}

@Suite("TestVector 03 cosine_linear")
struct TestVectorCosineLinearTests {
    static let file = "03_cosine_linear.json"

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, ["cosine_linear_sigma", "split_cosine_linear"])
    }

    @Test("cosine_linear_sigma: output and gradients incl. sigma")
    func cosineLinear() throws {
        let c = try TestVectors.loadCase(Self.file, "cosine_linear_sigma")
        let tol = c.tolerance
        let x = try c.input("x").tensor(requiresGrad: true)
        let w = try c.input("weight").tensor(requiresGrad: true)
        let sigma = try c.input("sigma").tensor(requiresGrad: true)
        #expect(sigma.shape == [1])
        let logits = sigma * VectorOps.cosineScores(x, w)
        expectVectorClose(logits, try c.output("logits"), tol, c.label("logits"))
        logits.backward(try c.upstream("logits"))
        expectVectorKeys(c, "grads", ["x", "weight", "sigma"])
        expectVectorClose(x.grad, try c.grad("x"), tol, c.label("grad x"))
        expectVectorClose(w.grad, try c.grad("weight"), tol, c.label("grad weight"))
        expectVectorClose(sigma.grad, try c.grad("sigma"), tol, c.label("grad sigma"))
    }

    @Test("split_cosine_linear: logits, unscaled halves, gradients incl. sigma")
    func splitCosine() throws {
        let c = try TestVectors.loadCase(Self.file, "split_cosine_linear")
        let tol = c.tolerance
        let x = try c.input("x").tensor(requiresGrad: true)
        let w1 = try c.input("fc1_weight").tensor(requiresGrad: true)
        let w2 = try c.input("fc2_weight").tensor(requiresGrad: true)
        let sigma = try c.input("sigma").tensor(requiresGrad: true)
        let out = VectorOps.splitCosineLinear(x, w1, w2, sigma: sigma)
        expectVectorClose(out.logits, try c.output("logits"), tol, c.label("logits"))
        expectVectorClose(out.cos1, try c.output("fc1_out_unscaled"), tol, c.label("fc1_out_unscaled"))
        expectVectorClose(out.cos2, try c.output("fc2_out_unscaled"), tol, c.label("fc2_out_unscaled"))
        out.logits.backward(try c.upstream("logits"))
        expectVectorKeys(c, "grads", ["x", "fc1_weight", "fc2_weight", "sigma"])
        expectVectorClose(x.grad, try c.grad("x"), tol, c.label("grad x"))
        expectVectorClose(w1.grad, try c.grad("fc1_weight"), tol, c.label("grad fc1_weight"))
        expectVectorClose(w2.grad, try c.grad("fc2_weight"), tol, c.label("grad fc2_weight"))
        expectVectorClose(sigma.grad, try c.grad("sigma"), tol, c.label("grad sigma"))
    }
}
