import CILSDK
import Testing

/// The backbones (docs/ALGORITHMS.md §2.1-§2.2): parameter counts, level shapes, names.
@Suite("ResNet")
struct ResNetTests {
    /// The CIFAR ResNet-32 backbone (projection shortcuts and BN affine included,
    /// no classifier) has exactly 466,256 trainable parameters.
    @Test func resNet32ParameterCount() {
        var rng = RandomGenerator(seed: 0)
        #expect(ResNet.cifar(blocksPerStage: 5, rng: &rng).trainableParameterCount == 466_256)
    }

    /// torchvision's resnet18 / resnet34 have 11,689,512 / 21,797,672 parameters
    /// including the 512×1000 fc and its bias (513,000).
    @Test func imageNetParameterCounts() {
        var rng = RandomGenerator(seed: 0)
        #expect(ResNet.imageNet(depth: 18, rng: &rng).trainableParameterCount == 11_689_512 - 513_000)
        #expect(ResNet.imageNet(depth: 34, rng: &rng).trainableParameterCount == 21_797_672 - 513_000)
    }

    @Test func imageNetLevelShapes() {
        var rng = RandomGenerator(seed: 1)
        let net = ResNet.imageNet(depth: 18, rng: &rng)
        net.setTraining(false)
        let x = Initializers.normal([1, 3, 224, 224], std: 1, rng: &rng)
        let shapes = withNoGrad { () -> [[Int]] in
            var h = x
            return net.levels.map { level in h = level(h); return h.shape }
        }
        #expect(shapes == [[1, 64, 56, 56], [1, 128, 28, 28], [1, 256, 14, 14], [1, 512, 7, 7]])
        #expect(net.featureDimension == 512)
        #expect(net.levels.flatMap(\.blocks).filter(\.isLast).count == 1)
        #expect(net.levels[3].blocks.last!.isLast)
    }

    /// Parameter names are the original state-dict names and unique.
    @Test func parameterNamesFollowPyTorch() {
        var rng = RandomGenerator(seed: 2)
        let names = ResNet.cifar(blocksPerStage: 5, rng: &rng).namedParameters().map(\.0)
        #expect(names.first == "conv1.weight")
        #expect(names.contains("layer2.0.downsample.0.weight"))
        #expect(names.contains("layer3.4.bn2.bias"))
        #expect(Set(names).count == names.count)
        // 31 convolutions + 2 projection shortcuts; BN γ and β for each.
        #expect(names.filter { $0.hasSuffix("weight") && !$0.contains("bn") && !$0.contains("downsample.1") }.count == 33)
    }

    /// A cloned level computes the same function with independent tensors.
    @Test func clonedLevelIsDeepAndEqual() {
        var rng = RandomGenerator(seed: 3)
        let net = ResNet.cifar(blocksPerStage: 1, rng: &rng)
        let level = net.levels[0]
        let copy = level.clonedLevel()
        let x = Initializers.normal([2, 3, 32, 32], std: 1, rng: &rng)
        level.setTraining(false); copy.setTraining(false)
        let (a, b) = withNoGrad { (level(x).scalars, copy(x).scalars) }
        #expect(withNoGrad { net(x).shape } == [2, 64])
        #expect(a == b)
        copy.convolutions[0].weight.fill(0)
        #expect(level.convolutions[0].weight.scalars.contains { $0 != 0 })
    }
}
