// 04_conv2d_mtl.json: the "ss" convolution of the stable branch: a frozen kernel
// times a learnable per-(out, in) scale broadcast over kH×kW, then conv2d.

import CILSDK
import Testing

@Suite("TestVector 04 conv2d_mtl")
struct TestVectorConv2dMtlTests {
    static let file = "04_conv2d_mtl.json"
    static let caseNames = ["k3_s1_p1", "k1_s2_p0_shortcut", "k3_s2_p1_even"]

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, Self.caseNames)
    }

    @Test("Conv2dMtl output, effective weight and gradients", arguments: caseNames)
    func conv2dMtl(caseName: String) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let tol = c.tolerance
        let x = try c.input("x").tensor(requiresGrad: true)
        let weight = try c.input("weight").tensor(requiresGrad: false)  // frozen
        let mtl = try c.input("mtl_weight").tensor(requiresGrad: true)
        #expect(mtl.shape == [weight.shape[0], weight.shape[1], 1, 1])
        let effective = weight * mtl
        expectVectorClose(effective, try c.output("effective_weight"), tol, c.label("effective_weight"))
        let y = Tensor.conv2d(x, weight: effective, stride: try c.intParam("stride"), padding: try c.intParam("padding"))
        expectVectorClose(y, try c.output("y"), tol, c.label("y"))
        y.backward(try c.upstream("y"))
        expectVectorKeys(c, "grads", ["x", "mtl_weight"])
        expectVectorClose(x.grad, try c.grad("x"), tol, c.label("grad x"))
        expectVectorClose(mtl.grad, try c.grad("mtl_weight"), tol, c.label("grad mtl_weight"))
        #expect(weight.grad == nil, "the frozen weight gets no gradient")
    }
}
