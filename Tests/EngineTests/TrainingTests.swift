import CILSDK
import Testing

/// The pieces compose: networks train, a ResNet-32 runs forward and backward, and a
/// seeded run repeats bit for bit.
@Suite("Training")
struct TrainingTests {
    /// A synthetic 4-class image task: class k is a bright k-th quadrant on noise.
    static func quadrantTask(count: Int, rng: inout RandomGenerator) -> (Tensor, [Int]) {
        let h = 8, w = 8
        var pixels = [Float](repeating: 0, count: count * 3 * h * w)
        var labels: [Int] = []
        for n in 0..<count {
            let k = rng.nextInt(below: 4)
            labels.append(k)
            let (r0, c0) = (k / 2 * 4, k % 2 * 4)
            for c in 0..<3 {
                for i in 0..<h {
                    for j in 0..<w {
                        let inside = i >= r0 && i < r0 + 4 && j >= c0 && j < c0 + 4
                        pixels[((n * 3 + c) * h + i) * w + j] = (inside ? 1.5 : 0) + 0.5 * rng.nextNormal()
                    }
                }
            }
        }
        return (Tensor(shape: [count, 3, h, w], pixels), labels)
    }

    /// A small conv net (conv-BN-ReLU, strided conv, max pool, pooled linear head)
    /// learns the quadrant task to high accuracy.
    @Test func smallConvNetLearnsSyntheticTask() {
        var rng = RandomGenerator(seed: 7)
        let conv1 = Conv2d(3, 8, kernel: 3, padding: 1, rng: &rng)
        let bn1 = BatchNorm2d(8)
        let conv2 = Conv2d(8, 16, kernel: 3, stride: 2, padding: 1, rng: &rng)
        let bn2 = BatchNorm2d(16)
        let head = Linear(16, 4, rng: &rng)
        let layers: [any Layer] = [conv1, bn1, conv2, bn2, head]
        let params = layers.flatMap(\.trainableParameters)
        let sgd = SGD(groups: [ParameterGroup(parameters: params, learningRate: 0.05, weightDecay: 5e-4)])
        func forward(_ x: Tensor) -> Tensor {
            let a = bn1(conv1(x)).relu()
            let b = bn2(conv2(a)).relu().maxPool2d(kernel: 3, stride: 2, padding: 1)
            return head(b.globalAvgPool())
        }
        let (trainX, trainY) = Self.quadrantTask(count: 256, rng: &rng)
        let (testX, testY) = Self.quadrantTask(count: 128, rng: &rng)
        var firstLoss: Float = 0, lastLoss: Float = 0
        for epoch in 0..<15 {
            for start in stride(from: 0, to: 256, by: 32) {
                let rows = Array(start..<start + 32)
                sgd.zeroGrad()
                let loss = Tensor.crossEntropy(logits: forward(trainX.selectingRows(rows)),
                                               targets: rows.map { trainY[$0] })
                loss.backward()
                sgd.step()
                if epoch == 0 && start == 0 { firstLoss = loss.item }
                lastLoss = loss.item
            }
        }
        for l in layers { l.setTraining(false) }
        let predictions = withNoGrad { forward(testX).argmaxRows() }
        let accuracy = Double(zip(predictions, testY).filter { $0 == $1 }.count) / Double(testY.count)
        #expect(lastLoss < firstLoss * 0.5, "loss \(firstLoss) -> \(lastLoss)")
        #expect(accuracy >= 0.9, "test accuracy \(accuracy)")
    }

    /// A CIFAR ResNet-32 forward and backward on a batch: shapes, finite values, a
    /// gradient for every trainable tensor, and the pooled feature can be negative
    /// (no ReLU after the last block).
    @Test func resNet32ForwardBackward() {
        var rng = RandomGenerator(seed: 3)
        let net = ResNet.cifar(blocksPerStage: 5, rng: &rng)
        let head = Linear(64, 100, rng: &rng)
        let x = Initializers.normal([8, 3, 32, 32], std: 1, rng: &rng)
        let labels = (0..<8).map { _ in rng.nextInt(below: 100) }
        let level1 = net.levels[0](x)
        #expect(level1.shape == [8, 16, 32, 32])
        let level2 = net.levels[1](level1)
        #expect(level2.shape == [8, 32, 16, 16])
        let level3 = net.levels[2](level2)
        #expect(level3.shape == [8, 64, 8, 8])
        let features = level3.globalAvgPool()
        #expect(features.shape == [8, 64])
        // Every block's output is ReLU'd except the last one's.
        let layer3 = net.levels[2].blocks
        let beforeLast = layer3.dropLast().reduce(level2) { $1($0) }
        #expect(beforeLast.scalars.allSatisfy { $0 >= 0 })
        let lastMap = layer3.last!(beforeLast)
        #expect(lastMap.scalars.contains { $0 < 0 }, "the last block has no ReLU, so its map has negative values")
        #expect(net.levels.flatMap(\.blocks).filter(\.isLast).count == 1 && layer3.last!.isLast)
        let loss = Tensor.crossEntropy(logits: head(features), targets: labels)
        #expect(loss.item.isFinite)
        loss.backward()
        let params = net.namedParameters() + head.namedParameters()
        for (name, p) in params {
            guard let g = p.grad else {
                Issue.record("no gradient for \(name)")
                continue
            }
            #expect(g.shape == p.shape, "\(name)")
            #expect(g.scalars.allSatisfy { $0.isFinite }, "\(name) has a non-finite gradient")
        }
        // 31 convs (1 stem + 30 in blocks) + 2 projection shortcuts = 33 conv weights.
        #expect(net.namedParameters().filter { $0.0.hasSuffix("weight") && $0.1.rank == 4 }.count == 33)
    }

    /// Two identical short trainings from the same seed give bit-identical weights.
    @Test func sameSeedSameWeights() {
        func train(seed: UInt64) -> [[Float]] {
            var rng = RandomGenerator(seed: seed)
            let net = ResNet.cifar(blocksPerStage: 1, rng: &rng)
            let head = Linear(64, 10, rng: &rng)
            let sgd = SGD(groups: [ParameterGroup(parameters: net.trainableParameters + head.trainableParameters,
                                                  learningRate: 0.1, weightDecay: 5e-4)])
            for _ in 0..<3 {
                let x = Initializers.normal([16, 3, 32, 32], std: 1, rng: &rng)
                let y = (0..<16).map { _ in rng.nextInt(below: 10) }
                sgd.zeroGrad()
                Tensor.crossEntropy(logits: head(net(x)), targets: y).backward()
                sgd.step()
            }
            return (net.namedParameters() + net.namedBuffers() + head.namedParameters()).map(\.1.scalars)
        }
        let a = train(seed: 42), b = train(seed: 42), c = train(seed: 43)
        #expect(a == b, "same seed must give bit-identical weights and buffers")
        #expect(a != c, "a different seed must give different weights")
    }
}
