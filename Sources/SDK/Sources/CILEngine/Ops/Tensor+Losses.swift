import Foundation

/// How a loss reduces its per-element or per-sample terms.
public enum LossReduction: String, Sendable {
    /// Mean over every element (PyTorch `'mean'`; the PyTorch-1.2 default of KLDivLoss).
    case mean
    /// Sum over every element divided by the batch size (PyTorch `'batchmean'`).
    case batchMean
    /// Sum over every element.
    case sum
}

extension Tensor {
    /// Softmax cross-entropy, mean over the batch: logits [B, C], targets B labels in
    /// 0..<C. Gradient (softmax - onehot) / B.
    public static func crossEntropy(logits: Tensor, targets: [Int]) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == targets.count,
                     "crossEntropy: logits \(logits.shape) for \(targets.count) targets")
        let b = logits.shape[0], c = logits.shape[1]
        precondition(targets.allSatisfy { (0..<c).contains($0) }, "crossEntropy: a target is outside 0..<\(c)")
        let logp = Tensor(uninitializedShape: logits.shape)
        softmaxKernel(logits.storage.pointer, logp.storage.pointer, outer: b, dim: c, inner: 1, log: true)
        var total = 0.0
        for i in 0..<b { total -= Double(logp.storage.pointer[i * c + targets[i]]) }
        let storage = TensorStorage([Float(total / Double(b))])
        return result("crossEntropy", shape: [], storage: storage, inputs: [logits]) { g in
            let scale = g.item / Float(b)
            let gx = Tensor(uninitializedShape: [b, c])
            let o = gx.storage.pointer, lp = logp.storage.pointer
            for i in 0..<b {
                for j in 0..<c { o[i * c + j] = Foundation.exp(lp[i * c + j]) * scale }
                o[i * c + targets[i]] -= scale
            }
            return [gx]
        }
    }

    /// KL divergence as PyTorch's `KLDivLoss`: Σ target·(log target − logInput), with
    /// 0 where target is 0, reduced by `reduction`. `logInput` holds log-probabilities;
    /// `target` probabilities, treated as a constant (no gradient flows into it).
    public static func klDivergence(logInput: Tensor, target: Tensor, reduction: LossReduction = .mean) -> Tensor {
        precondition(logInput.shape == target.shape, "klDivergence: \(logInput.shape) vs \(target.shape)")
        let x = logInput.storage.pointer, t = target.storage.pointer
        var total = 0.0
        for i in 0..<logInput.count where t[i] > 0 {
            total += Double(t[i]) * (Foundation.log(Double(t[i])) - Double(x[i]))
        }
        let divisor: Float
        switch reduction {
        case .mean: divisor = Float(logInput.count)
        case .batchMean: divisor = Float(logInput.shape.first ?? 1)
        case .sum: divisor = 1
        }
        let storage = TensorStorage([Float(total / Double(divisor))])
        let n = logInput.count
        // The target is not an input of the op, so the closure must keep it alive.
        let targetValues = target.detached()
        return result("klDivergence", shape: [], storage: storage, inputs: [logInput]) { g in
            let s = -g.item / divisor
            let gx = Tensor(uninitializedShape: logInput.shape)
            let t = targetValues.storage.pointer
            for i in 0..<n { gx.storage.pointer[i] = t[i] * s }
            return [gx]
        }
    }

    /// Distillation KL with temperature T:
    /// `KLDivLoss(reduction)(log_softmax(student/T), softmax(teacher/T))`, the
    /// teacher detached. Logits [B, C] each. (iCaRL's loss multiplies this by
    /// T²·β·C_old in the original code; that factor is the caller's.)
    public static func distillationKL(student: Tensor, teacher: Tensor, temperature: Float,
                                      reduction: LossReduction = .mean) -> Tensor {
        let logp = (student / temperature).logSoftmax(axis: 1)
        let q = withNoGrad { (teacher.detached() / temperature).softmax(axis: 1) }
        return klDivergence(logInput: logp, target: q, reduction: reduction)
    }

    /// Row-wise cosine similarity of [B, D] tensors -> [B]: ⟨â, b̂⟩ with
    /// â = a / max(‖a‖, eps) (the `F.normalize` convention).
    public static func cosineSimilarity(_ a: Tensor, _ b: Tensor, eps: Float = 1e-12) -> Tensor {
        precondition(a.shape == b.shape && a.rank == 2, "cosineSimilarity: \(a.shape) vs \(b.shape)")
        return (a.l2Normalized(axis: 1, eps: eps) * b.l2Normalized(axis: 1, eps: eps)).sum(axes: [1])
    }

    /// PyTorch `CosineEmbeddingLoss`: per row cos = ⟨a,b⟩ / √((‖a‖²+1e-12)(‖b‖²+1e-12));
    /// the term is 1 − cos for target +1 and max(0, cos − margin) for −1; mean over rows.
    public static func cosineEmbeddingLoss(_ a: Tensor, _ b: Tensor, targets: [Int], margin: Float = 0) -> Tensor {
        precondition(a.shape == b.shape && a.rank == 2 && targets.count == a.shape[0],
                     "cosineEmbeddingLoss: \(a.shape) vs \(b.shape) with \(targets.count) targets")
        precondition(targets.allSatisfy { $0 == 1 || $0 == -1 }, "cosineEmbeddingLoss: targets must be +1 or -1")
        let eps: Float = 1e-12
        let dot = (a * b).sum(axes: [1])
        let denom = (((a * a).sum(axes: [1]) + eps) * ((b * b).sum(axes: [1]) + eps)).sqrt()
        let cos = dot / denom
        let pos = Tensor(shape: [targets.count], targets.map { $0 == 1 ? 1 : 0 })
        let neg = Tensor(shape: [targets.count], targets.map { $0 == 1 ? 0 : 1 })
        let terms = pos * (1 - cos) + neg * (cos - margin).clamped(min: 0)
        return terms.mean()
    }

    /// PyTorch `MarginRankingLoss`: mean of max(0, −y·(x1 − x2) + margin), with
    /// y = `target` (+1: x1 should rank higher). x1, x2 of equal shape.
    public static func marginRankingLoss(_ x1: Tensor, _ x2: Tensor, target: Float = 1, margin: Float) -> Tensor {
        precondition(x1.shape == x2.shape, "marginRankingLoss: \(x1.shape) vs \(x2.shape)")
        return ((x1 - x2) * -target + margin).clamped(min: 0).mean()
    }
}

extension Tensor {
    /// Element-wise logistic sigmoid 1 / (1 + e^−x).
    public func sigmoid() -> Tensor {
        1 / (1 + scaled(by: -1).exp())
    }

    /// Binary cross-entropy on logits (PyTorch `BCEWithLogitsLoss`, mean over every
    /// element): mean of max(z, 0) − z·t + log(1 + e^−|z|), stable for large |z|.
    /// `targets` (same shape, values in [0, 1]) are constants.
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, targets: Tensor) -> Tensor {
        precondition(logits.shape == targets.shape, "binaryCrossEntropyWithLogits: \(logits.shape) vs \(targets.shape)")
        let t = targets.detached()
        return (logits.relu() - logits * t + (1 + logits.abs().scaled(by: -1).exp()).log()).mean()
    }
}
