// 07_lucir.json: the LUCIR losses of the AANets LUCIR trainer, composed from engine
// ops: less-forget (CosineEmbeddingLoss, target 1, times λ), margin ranking on the
// unscaled fc1/fc2 cosines (top-K new-class hard negatives), and their sum with CE
// through a SplitCosineLinear.

import CILSDK
import Testing

extension VectorOps {
    /// LUCIR's margin-ranking loss (lw_mr not applied) on the unscaled cosines, or nil
    /// when no sample has an old-class target (the trainer then uses zeros(1)).
    /// Returns the loss, the hard-sample indices and the (gt, novel) pair tensors.
    static func lucirMarginRanking(old: Tensor, new: Tensor, targets: [Int], numOldClasses: Int, k: Int, dist: Float)
        -> (loss: Tensor, hard: [Int], gt: Tensor, novel: Tensor)? {
        let hard = targets.indices.filter { targets[$0] < numOldClasses }
        guard !hard.isEmpty else { return nil }
        let scores = Tensor.concatenate([old, new], axis: 1)  // outputs_bs
        let total = scores.shape[1]
        let hardScores = scores.selectingRows(hard)
        // Ground-truth cosine of each hard sample, repeated K times.
        let gt = hardScores.gathered(hard.map { [Int](repeating: targets[$0], count: k) })
        // Its top-K new-class cosines, in descending order.
        let newScores = hardScores.sliced(axis: 1, numOldClasses..<total)
        let novel = newScores.gathered(newScores.topKIndices(k))
        let loss = Tensor.marginRankingLoss(gt.reshaped([-1]), novel.reshaped([-1]), target: 1, margin: dist)
        return (loss, hard, gt, novel)
    }
}

@Suite("TestVector 07 lucir")
struct TestVectorLucirTests {
    static let file = "07_lucir.json"

    @Test("file holds exactly the tested cases")
    func coversEveryCase() throws {
        try expectVectorCaseNames(Self.file, ["less_forget", "margin_ranking_mixed_batch", "margin_ranking_no_old_class",
                                        "total_mixed_batch", "total_no_old_class"])
    }

    @Test("less_forget: lambda * CosineEmbeddingLoss(target 1)")
    func lessForget() throws {
        let c = try TestVectors.loadCase(Self.file, "less_forget")
        let cur = try c.input("cur_features").tensor(requiresGrad: true)
        let ref = try c.input("ref_features").tensor(requiresGrad: true)
        let ones = [Int](repeating: 1, count: cur.shape[0])
        let loss = Tensor.cosineEmbeddingLoss(cur, ref.detached(), targets: ones) * (try c.floatParam("the_lambda"))
        expectVectorClose(loss, try c.output("loss"), c.tolerance, c.label("loss"))
        loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["cur_features"])
        expectVectorClose(cur.grad, try c.grad("cur_features"), c.tolerance, c.label("grad cur_features"))
        #expect(ref.grad == nil, "ref_features are detached")
    }

    @Test("margin_ranking_mixed_batch: hard samples, pairs, loss, gradients")
    func marginRankingMixed() throws {
        let c = try TestVectors.loadCase(Self.file, "margin_ranking_mixed_batch")
        let tol = c.tolerance
        let old = try c.input("old_scores").tensor(requiresGrad: true)
        let new = try c.input("new_scores").tensor(requiresGrad: true)
        let targets = try c.intInput("targets")
        let k = try c.intParam("K"), dist = try c.floatParam("dist"), lwMR = try c.floatParam("lw_mr")
        let mr = try #require(VectorOps.lucirMarginRanking(old: old, new: new, targets: targets,
                                                 numOldClasses: try c.intParam("num_old_classes"), k: k, dist: dist))
        #expect(mr.hard == (try c.output("hard_sample_indices").ints(c.label("hard_sample_indices"))))
        // The (gt, novel, hinge) pairs listed as an intermediate.
        let pairs = try #require(try c.raw("outputs", "pairs_gt_novel_hinge").arrayValue)
        let expected = pairs.map { p in (p.arrayValue ?? []).map { $0.floatValue ?? .nan } }
        #expect(expected.count == mr.hard.count * k && expected.allSatisfy { $0.count == 3 })
        let gt = mr.gt.scalars, novel = mr.novel.scalars
        let hinge = zip(gt, novel).map { Swift.max(0, dist - ($0 - $1)) }
        expectVectorClose(gt, expected.map { $0[0] }, tol, c.label("pairs gt"))
        expectVectorClose(novel, expected.map { $0[1] }, tol, c.label("pairs novel"))
        expectVectorClose(hinge, expected.map { $0[2] }, tol, c.label("pairs hinge"))
        let loss = mr.loss * lwMR
        expectVectorClose(loss, try c.output("loss"), tol, c.label("loss"))
        loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["old_scores", "new_scores"])
        expectVectorClose(old.grad, try c.grad("old_scores"), tol, c.label("grad old_scores"))
        expectVectorClose(new.grad, try c.grad("new_scores"), tol, c.label("grad new_scores"))
    }

    @Test("margin_ranking_no_old_class: constant zeros(1), no gradient")
    func marginRankingNoOldClass() throws {
        let c = try TestVectors.loadCase(Self.file, "margin_ranking_no_old_class")
        let tol = c.tolerance
        let old = try c.input("old_scores").tensor(requiresGrad: true)
        let new = try c.input("new_scores").tensor(requiresGrad: true)
        let mr = VectorOps.lucirMarginRanking(old: old, new: new, targets: try c.intInput("targets"),
                                    numOldClasses: try c.intParam("num_old_classes"), k: try c.intParam("K"),
                                    dist: try c.floatParam("dist"))
        #expect(mr == nil, "no sample has an old-class target")
        #expect(try c.output("hard_sample_indices").ints(c.label("hard_sample_indices")).isEmpty)
        #expect(try c.raw("outputs", "pairs_gt_novel_hinge").arrayValue?.isEmpty == true)
        let loss = Tensor.zeros([1])
        expectVectorClose(loss, try c.output("loss"), tol, c.label("loss"))
        #expect(!loss.requiresGrad, "the constant loss has no graph")
        // No gradient reaches the scores: the reference lists zeros.
        expectVectorKeys(c, "grads", ["old_scores", "new_scores"])
        #expect(old.grad == nil && new.grad == nil)
        expectVectorClose(old.grad ?? Tensor.zeros(old.shape), try c.grad("old_scores"), tol, c.label("grad old_scores"))
        expectVectorClose(new.grad ?? Tensor.zeros(new.shape), try c.grad("new_scores"), tol, c.label("grad new_scores"))
    }

    /// λ·LF + CE + lw_mr·MR through SplitCosineLinear.
    private func total(_ caseName: String, hasOldClass: Bool) throws {
        let c = try TestVectors.loadCase(Self.file, caseName)
        let tol = c.tolerance
        let features = try c.input("features").tensor(requiresGrad: true)
        let ref = try c.input("ref_features").tensor()
        let w1 = try c.input("fc1_weight").tensor(requiresGrad: true)
        let w2 = try c.input("fc2_weight").tensor(requiresGrad: true)
        let sigma = try c.input("sigma").tensor(requiresGrad: true)
        let targets = try c.intInput("targets")
        let cOld = try c.intParam("num_old_classes")
        #expect(w1.shape[0] == cOld)
        let fc = VectorOps.splitCosineLinear(features, w1, w2, sigma: sigma)
        expectVectorClose(fc.logits, try c.output("logits"), tol, c.label("logits"))
        let lf = Tensor.cosineEmbeddingLoss(features, ref.detached(), targets: [Int](repeating: 1, count: targets.count))
            * (try c.floatParam("the_lambda"))
        let ce = Tensor.crossEntropy(logits: fc.logits, targets: targets)
        let mrResult = VectorOps.lucirMarginRanking(old: fc.cos1, new: fc.cos2, targets: targets, numOldClasses: cOld,
                                          k: try c.intParam("K"), dist: try c.floatParam("dist"))
        #expect((mrResult != nil) == hasOldClass)
        let lwMR = try c.floatParam("lw_mr")
        let mr = mrResult.map { $0.loss * lwMR } ?? Tensor.zeros([1])
        let loss = lf + ce + mr
        expectVectorClose(lf, try c.output("loss_lf"), tol, c.label("loss_lf"))
        expectVectorClose(ce, try c.output("loss_ce"), tol, c.label("loss_ce"))
        expectVectorClose(mr, try c.output("loss_mr"), tol, c.label("loss_mr"))
        expectVectorClose(loss, try c.output("loss"), tol, c.label("loss"))
        loss.backward(try c.upstream("loss"))
        expectVectorKeys(c, "grads", ["features", "fc1_weight", "fc2_weight", "sigma"])
        expectVectorClose(features.grad, try c.grad("features"), tol, c.label("grad features"))
        expectVectorClose(w1.grad, try c.grad("fc1_weight"), tol, c.label("grad fc1_weight"))
        expectVectorClose(w2.grad, try c.grad("fc2_weight"), tol, c.label("grad fc2_weight"))
        expectVectorClose(sigma.grad, try c.grad("sigma"), tol, c.label("grad sigma"))
    }

    @Test("total_mixed_batch: lambda*LF + CE + MR through SplitCosineLinear")
    func totalMixed() throws { try total("total_mixed_batch", hasOldClass: true) }

    @Test("total_no_old_class: MR is zeros(1), total has shape (1,)")
    func totalNoOldClass() throws { try total("total_no_old_class", hasOldClass: false) }
}
