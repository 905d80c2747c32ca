// 06_ce_icarl_kd.json: softmax cross-entropy and the iCaRL distillation of the AANets
// iCaRL trainer: KLDivLoss()(log_softmax(z[:, :C_old]/T), softmax(z_old/T))·T²·β·C_old.

import CILSDK
import Testing

@Suite("TestVector 06 ce_icarl_kd")
struct TestVectorCrossEntropyKDTests {
    static let file = "06_ce_icarl_kd.json"

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, ["cross_entropy_mean", "icarl_kd", "icarl_total"])
    }

    /// iCaRL's KD term on the engine: distillationKL (reduction .mean) · T²·β·C_old.
    private func icarlKD(_ z: Tensor, _ zOld: Tensor, _ c: VectorCase) throws -> Tensor {
        let T = try c.floatParam("T"), beta = try c.floatParam("beta"), cOld = try c.intParam("num_old_classes")
        #expect(zOld.shape == [z.shape[0], cOld])
        let kl = Tensor.distillationKL(student: z.sliced(axis: 1, 0..<cOld), teacher: zOld, temperature: T,
                                       reduction: .mean)
        return kl * (T * T * beta * Float(cOld))
    }

    /// The same KD term from klDivergence with the teacher distribution held alive by
    /// the caller (a regression check for the fixed dangling-target bug of
    /// klDivergence's backward pass).
    private func icarlKDHeldTarget(_ z: Tensor, _ zOld: Tensor, _ c: VectorCase) throws -> (Tensor, Tensor) {
        let T = try c.floatParam("T"), beta = try c.floatParam("beta"), cOld = try c.intParam("num_old_classes")
        let q = withNoGrad { (zOld.detached() / T).softmax(axis: 1) }
        let logp = (z.sliced(axis: 1, 0..<cOld) / T).logSoftmax(axis: 1)
        return (Tensor.klDivergence(logInput: logp, target: q, reduction: .mean) * (T * T * beta * Float(cOld)), q)
    }

    @Test("cross_entropy_mean: loss and gradient")
    func crossEntropy() throws {
        let c = try TestVectors.loadCase(Self.file, "cross_entropy_mean")
        let z = try c.input("outputs").tensor(requiresGrad: true)
        let loss = Tensor.crossEntropy(logits: z, targets: try c.intInput("targets"))
        expectVectorClose(loss, try c.output("loss"), c.tolerance, c.label("loss"))
        loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["outputs"])
        expectVectorClose(z.grad, try c.grad("outputs"), c.tolerance, c.label("grad outputs"))
    }

    @Test("icarl_kd: loss and gradient (new-class columns get 0)")
    func icarlKD() throws {
        let c = try TestVectors.loadCase(Self.file, "icarl_kd")
        let z = try c.input("outputs").tensor(requiresGrad: true)
        let zOld = try c.input("ref_outputs").tensor(requiresGrad: true)
        let loss = try icarlKD(z, zOld, c)
        expectVectorClose(loss, try c.output("loss"), c.tolerance, c.label("loss"))
        loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["outputs"])
        let expectedGrad = try c.grad("outputs")
        expectVectorClose(z.grad, expectedGrad, c.tolerance, c.label("grad outputs (distillationKL)"))
        #expect(zOld.grad == nil, "the teacher logits are detached")
    }

    @Test("icarl_kd: the same loss from klDivergence with the target kept alive")
    func icarlKDHeldTarget() throws {
        let c = try TestVectors.loadCase(Self.file, "icarl_kd")
        let z = try c.input("outputs").tensor(requiresGrad: true)
        let (loss, q) = try icarlKDHeldTarget(z, try c.input("ref_outputs").tensor(), c)
        expectVectorClose(loss, try c.output("loss"), c.tolerance, c.label("loss (klDivergence)"))
        loss.backward(try c.upstream("loss"))
        expectVectorClose(z.grad, try c.grad("outputs"), c.tolerance, c.label("grad outputs (klDivergence, target held)"))
        withExtendedLifetime(q) {}
    }

    @Test("icarl_total: kd + ce")
    func icarlTotal() throws {
        let c = try TestVectors.loadCase(Self.file, "icarl_total")
        let tol = c.tolerance
        let z = try c.input("outputs").tensor(requiresGrad: true)
        let zOld = try c.input("ref_outputs").tensor()
        let kd = try icarlKD(z, zOld, c)
        let ce = Tensor.crossEntropy(logits: z, targets: try c.intInput("targets"))
        let loss = kd + ce
        expectVectorClose(kd, try c.output("loss_kd"), tol, c.label("loss_kd"))
        expectVectorClose(ce, try c.output("loss_ce"), tol, c.label("loss_ce"))
        expectVectorClose(loss, try c.output("loss"), tol, c.label("loss"))
        loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["outputs"])
        let expectedGrad = try c.grad("outputs")
        expectVectorClose(z.grad, expectedGrad, tol, c.label("grad outputs (distillationKL)"))
    }
}
