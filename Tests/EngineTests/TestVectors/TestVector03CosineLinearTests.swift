// 03_cosine_linear.json: AANets CosineLinear (with σ) and SplitCosineLinear, composed
// from engine ops: logits = σ · normalize(x) · normalize(W)ᵀ.

import CILSDK
import Testing

/// Unscaled cosines of the rows of x with the rows of w: normalize(x) · normalize(w)ᵀ.
func cosineScores(_ x: Tensor, _ w: Tensor) -> Tensor {
    Tensor.matmul(x.l2Normalized(axis: 1), w.l2Normalized(axis: 1), transposeB: true)
}

/// SplitCosineLinear: σ · cat(cos(x, W1), cos(x, W2)), with the unscaled halves.
func splitCosineLinear(_ x: Tensor, _ w1: Tensor, _ w2: Tensor, sigma: Tensor)
    -> (logits: Tensor, cos1: Tensor, cos2: Tensor) {
    let cos1 = cosineScores(x, w1), cos2 = cosineScores(x, w2)
    return (sigma * Tensor.concatenate([cos1, cos2], axis: 1), cos1, cos2)
}

@Suite("TestVector 03 cosine_linear")
struct TestVectorCosineLinearTests {
    static let file = "03_cosine_linear.json"

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectCaseNames(Self.file, ["cosine_linear_sigma", "split_cosine_linear"])
    }

    @Test("cosine_linear_sigma: output and gradients incl. sigma")
    func cosineLinear() throws {
        let c = try TestVectors.loadCase(Self.file, "cosine_linear_sigma")
        let tol = c.tolerance
        let x = try c.input("x").tensor(requiresGrad: true)
        let w = try c.input("weight").tensor(requiresGrad: true)
        let sigma = try c.input("sigma").tensor(requiresGrad: true)
        #expect(sigma.shape == [1])
        let logits = sigma * cosineScores(x, w)
        expectClose(logits, try c.output("logits"), tol, c.label("logits"))
        logits.backward(try c.upstream("logits"))
        expectKeys(c, "grads", ["x", "weight", "sigma"])
        expectClose(x.grad, try c.grad("x"), tol, c.label("grad x"))
        expectClose(w.grad, try c.grad("weight"), tol, c.label("grad weight"))
        expectClose(sigma.grad, try c.grad("sigma"), tol, c.label("grad sigma"))
    }

    @Test("split_cosine_linear: logits, unscaled halves, gradients incl. sigma")
    func splitCosine() throws {
        let c = try TestVectors.loadCase(Self.file, "split_cosine_linear")
        let tol = c.tolerance
        let x = try c.input("x").tensor(requiresGrad: true)
        let w1 = try c.input("fc1_weight").tensor(requiresGrad: true)
        let w2 = try c.input("fc2_weight").tensor(requiresGrad: true)
        let sigma = try c.input("sigma").tensor(requiresGrad: true)
        let out = splitCosineLinear(x, w1, w2, sigma: sigma)
        expectClose(out.logits, try c.output("logits"), tol, c.label("logits"))
        expectClose(out.cos1, try c.output("fc1_out_unscaled"), tol, c.label("fc1_out_unscaled"))
        expectClose(out.cos2, try c.output("fc2_out_unscaled"), tol, c.label("fc2_out_unscaled"))
        out.logits.backward(try c.upstream("logits"))
        expectKeys(c, "grads", ["x", "fc1_weight", "fc2_weight", "sigma"])
        expectClose(x.grad, try c.grad("x"), tol, c.label("grad x"))
        expectClose(w1.grad, try c.grad("fc1_weight"), tol, c.label("grad fc1_weight"))
        expectClose(w2.grad, try c.grad("fc2_weight"), tol, c.label("grad fc2_weight"))
        expectClose(sigma.grad, try c.grad("sigma"), tol, c.label("grad sigma"))
    }
}
