// 05_aggregation.json: level aggregation x = α·B1 + (1−α)·B2 with α of shape (1,).

import CILSDK
import Testing

@Suite("TestVector 05 aggregation")
struct TestVectorAggregationTests {
    static let file = "05_aggregation.json"
    static let caseNames = ["maps_alpha_0.4837", "pooled_alpha_0.5", "single_mode_alpha_1"]

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, Self.caseNames)
    }

    @Test("alpha*B1 + (1-alpha)*B2: output and gradients", arguments: caseNames)
    func aggregation(caseName: String) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let tol = c.tolerance
        let alpha = try c.input("alpha").tensor(requiresGrad: true)
        let b1 = try c.input("b1_out").tensor(requiresGrad: true)
        let b2 = try c.input("b2_out").tensor(requiresGrad: true)
        #expect(alpha.shape == [1])
        let x = alpha * b1 + (1 - alpha) * b2
        expectVectorClose(x, try c.output("x"), tol, c.label("x"))
        x.backward(try c.upstream("x"))
        expectVectorKeys(c, "grads", ["alpha", "b1_out", "b2_out"])
        expectVectorClose(alpha.grad, try c.grad("alpha"), tol, c.label("grad alpha"))
        expectVectorClose(b1.grad, try c.grad("b1_out"), tol, c.label("grad b1_out"))
        expectVectorClose(b2.grad, try c.grad("b2_out"), tol, c.label("grad b2_out"))
    }
}
