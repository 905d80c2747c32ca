/// The ResNet basic block of the CIL ResNets (docs/ALGORITHMS.md §2.1-§2.2):
/// conv3×3(stride s) → BN → ReLU → conv3×3 → BN → + shortcut → ReLU (skipped when
/// `isLast`). The shortcut is the identity, or conv1×1(stride s) → BN when the
/// stride or the width changes (`downsample`, PyTorch's name).
public final class BasicBlock: Layer {
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let conv2: Conv2d
    public let bn2: BatchNorm2d
    public let downsample: (conv: Conv2d, bn: BatchNorm2d)?
    /// No ReLU after the residual addition (the last block of the network).
    public let isLast: Bool
    public var isTraining = true

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, isLast: Bool = false,
                rng: inout RandomGenerator) {
        conv1 = Conv2d(inChannels, outChannels, kernel: 3, stride: stride, padding: 1, rng: &rng)
        bn1 = BatchNorm2d(outChannels)
        conv2 = Conv2d(outChannels, outChannels, kernel: 3, stride: 1, padding: 1, rng: &rng)
        bn2 = BatchNorm2d(outChannels)
        if stride != 1 || inChannels != outChannels {
            downsample = (Conv2d(inChannels, outChannels, kernel: 1, stride: stride, rng: &rng), BatchNorm2d(outChannels))
        } else {
            downsample = nil
        }
        self.isLast = isLast
    }

    private init(conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d,
                 downsample: (conv: Conv2d, bn: BatchNorm2d)?, isLast: Bool) {
        self.conv1 = conv1; self.bn1 = bn1; self.conv2 = conv2; self.bn2 = bn2
        self.downsample = downsample
        self.isLast = isLast
    }

    public var children: [(String, any Layer)] {
        var c: [(String, any Layer)] = [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
        if let d = downsample { c += [("downsample.0", d.conv), ("downsample.1", d.bn)] }
        return c
    }

    /// Convolutions in order: conv1, conv2, then the shortcut's.
    public var convolutions: [Conv2d] { [conv1, conv2] + (downsample.map { [$0.conv] } ?? []) }
    /// Batch norms in order: bn1, bn2, then the shortcut's.
    public var batchNorms: [BatchNorm2d] { [bn1, bn2] + (downsample.map { [$0.bn] } ?? []) }

    /// [N, in, H, W] -> [N, out, H/s, W/s].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = conv2(bn1(conv1(x), relu: true))
        let shortcut = downsample.map { $0.bn($0.conv(x)) } ?? x
        // relu(bn2(h) + shortcut) as one batch-norm op: one forward pass, one masked
        // gradient shared by bn2 and the shortcut.
        return isLast ? bn2(h) + shortcut : bn2(h, addingReLU: shortcut)
    }

    /// A deep copy.
    public func cloned() -> BasicBlock {
        let c = BasicBlock(conv1: conv1.cloned(), bn1: bn1.cloned(), conv2: conv2.cloned(), bn2: bn2.cloned(),
                           downsample: downsample.map { ($0.conv.cloned(), $0.bn.cloned()) }, isLast: isLast)
        c.isTraining = isTraining
        return c
    }
}
