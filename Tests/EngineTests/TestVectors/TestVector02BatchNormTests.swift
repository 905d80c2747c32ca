// 02_batch_norm2d.json: BatchNorm2d in training mode (output, gradients, running
// buffers after the update) and in eval mode against PyTorch.

import CILSDK
import Testing

@Suite("TestVector 02 batch_norm2d")
struct TestVectorBatchNormTests {
    static let file = "02_batch_norm2d.json"

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, ["train", "eval_after_update", "train_n2_default_buffers"])
    }

    /// Runs one case; training mode also checks the updated running buffers.
    private func run(_ caseName: String, training: Bool) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let tol = c.tolerance
        let x = try c.input("x").tensor(requiresGrad: true)
        let gamma = try c.input("weight").tensor(requiresGrad: true)
        let beta = try c.input("bias").tensor(requiresGrad: true)
        let runningMean = try c.input("running_mean").tensor()
        let runningVar = try c.input("running_var").tensor()
        let eps = try c.floatParam("eps")
        let momentum = training ? try c.floatParam("momentum") : 0.1
        let y = Tensor.batchNorm(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                 training: training, momentum: momentum, eps: eps)
        expectVectorClose(y, try c.output("y"), tol, c.label("y"))
        if training {
            expectVectorClose(runningMean, try c.output("running_mean_after"), tol, c.label("running_mean after"))
            expectVectorClose(runningVar, try c.output("running_var_after"), tol, c.label("running_var after"))
            // The batch statistics (intermediates) from plain reductions of x.
            let n = Float(x.shape[0] * x.shape[2] * x.shape[3])
            let (mean, varBiased) = withNoGrad { () -> (Tensor, Tensor) in
                let m = x.mean(axes: [0, 2, 3])
                let v = (x - m.reshaped([1, -1, 1, 1])).square().mean(axes: [0, 2, 3])
                return (m, v)
            }
            expectVectorClose(mean, try c.output("batch_mean"), tol, c.label("batch_mean"))
            expectVectorClose(varBiased, try c.output("batch_var_biased"), tol, c.label("batch_var_biased"))
            let unbiased = varBiased.scalars.map { $0 * n / (n - 1) }
            expectVectorClose(unbiased, try c.output("batch_var_unbiased").values, tol, c.label("batch_var_unbiased"))
            // num_batches_tracked: the engine keeps no counter (unused when momentum is set).
            #expect(try c.output("num_batches_tracked_after").ints(c.label("num_batches_tracked_after")) == [1])
        } else {
            // Eval mode leaves the buffers alone.
            expectVectorClose(runningMean, try c.input("running_mean"), .exact, c.label("running_mean unchanged"))
            expectVectorClose(runningVar, try c.input("running_var"), .exact, c.label("running_var unchanged"))
        }
        y.backward(try c.upstream("y"))
        expectVectorKeys(c, "grads", ["x", "weight", "bias"])
        expectVectorClose(x.grad, try c.grad("x"), tol, c.label("grad x"))
        expectVectorClose(gamma.grad, try c.grad("weight"), tol, c.label("grad weight"))
        expectVectorClose(beta.grad, try c.grad("bias"), tol, c.label("grad bias"))
        #expect(runningMean.grad == nil && runningVar.grad == nil, "running buffers are never differentiated")
    }

    @Test("train: output, gradients, running buffers")
    func train() throws { try run("train", training: true) }

    @Test("eval_after_update: running statistics as constants")
    func evalAfterUpdate() throws { try run("eval_after_update", training: false) }

    @Test("train_n2_default_buffers: unbiased factor n/(n-1) = 2")
    func trainN2() throws { try run("train_n2_default_buffers", training: true) }

    @Test("eval_after_update uses the buffers that train produces")
    func evalUsesTrainBuffers() throws {
        let f = try TestVectors.load(Self.file)
        let train = try f.case("train"), eval = try f.case("eval_after_update")
        // Same x, γ, β; the eval buffers are train's updated buffers.
        expectVectorClose(try eval.input("x").values, try train.input("x").values, .exact, eval.label("x = train x"))
        expectVectorClose(try eval.input("weight").values, try train.input("weight").values, .exact, eval.label("weight"))
        expectVectorClose(try eval.input("bias").values, try train.input("bias").values, .exact, eval.label("bias"))
        // Run train through the engine and feed its buffers to eval.
        let runningMean = try train.input("running_mean").tensor()
        let runningVar = try train.input("running_var").tensor()
        _ = Tensor.batchNorm(try train.input("x").tensor(), gamma: try train.input("weight").tensor(),
                             beta: try train.input("bias").tensor(), runningMean: runningMean,
                             runningVar: runningVar, training: true,
                             momentum: try train.floatParam("momentum"), eps: try train.floatParam("eps"))
        expectVectorClose(runningMean, try eval.input("running_mean"), eval.tolerance, eval.label("engine running_mean"))
        expectVectorClose(runningVar, try eval.input("running_var"), eval.tolerance, eval.label("engine running_var"))
        let y = Tensor.batchNorm(try eval.input("x").tensor(), gamma: try eval.input("weight").tensor(),
                                 beta: try eval.input("bias").tensor(), runningMean: runningMean,
                                 runningVar: runningVar, training: false, eps: try eval.floatParam("eps"))
        expectVectorClose(y, try eval.output("y"), eval.tolerance, eval.label("y from engine buffers"))
    }
}
