// 01_conv2d.json: conv2d output, grad_input and grad_weight against PyTorch.

import CILSDK
import Testing

@Suite("TestVector 01 conv2d")
struct TestVectorConv2dTests {
    static let file = "01_conv2d.json"
    static let caseNames = ["k3_s1_p1", "k3_s2_p1", "k1_s2_p0", "k3_s2_p1_even"]

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, Self.caseNames)
    }

    @Test("conv2d output and gradients", arguments: caseNames)
    func conv2d(caseName: String) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let tol = c.tolerance
        #expect(try c.intParam("dilation") == 1 && c.intParam("groups") == 1, "only dilation 1, groups 1 exist")
        let x = try c.input("x").tensor(requiresGrad: true)
        let w = try c.input("weight").tensor(requiresGrad: true)
        let y = Tensor.conv2d(x, weight: w, stride: try c.intParam("stride"), padding: try c.intParam("padding"))
        expectVectorClose(y, try c.output("y"), tol, c.label("y"))
        y.backward(try c.upstream("y"))
        expectVectorKeys(c, "grads", ["x", "weight"])
        expectVectorClose(x.grad, try c.grad("x"), tol, c.label("grad x"))
        expectVectorClose(w.grad, try c.grad("weight"), tol, c.label("grad weight"))
    }
}
