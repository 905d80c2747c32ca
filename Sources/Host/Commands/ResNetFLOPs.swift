import CILSDK

/// Floating-point work per image of a CIL ResNet and its linear head, counted from
/// the real network: every convolution's channels, kernel, stride and padding, walked
/// in the order the levels run them (stem conv, max pool, then each basic block's
/// conv1 and conv2 on the block input's path and its 1×1 shortcut on the block input).
///
/// - A multiply-add is 2 FLOPs; batch norm, ReLU, pooling, the additions and α are
///   not counted (they are elementwise, a few percent of the work).
/// - conv: C_out · C_in · k² · H_out · W_out multiply-adds, with
///   H_out = (H_in + 2·padding − k) / stride + 1; head: feature dimension · classes.
/// - Training step: the forward pass plus two of the same size backward (input and
///   weight gradients), except that a stem has no input gradient:
///   2 · (3 · forward MACs − stem MACs).
/// - Dual: the MANets network, where every level (the first one with its stem) runs
///   in both branches; the head runs once.
///
/// CIFAR ResNet-32 at 32×32, 100 classes: 69,130,496 MACs forward. ImageNet
/// ResNet-18 at 224×224, 100 classes: 1,813,612,544 MACs forward (stem 118,013,952,
/// layer1 462,422,016, layer2-4 411,041,792 each, head 51,200).
struct ResNetFLOPs {
    /// Multiply-adds of one forward pass, per image: the stem conv(s), the other
    /// convolutions of the levels, the head.
    let stemMACs: Double
    let levelMACs: Double
    let headMACs: Double
    /// How many times the levels run (2 in dual mode).
    let branches: Double

    /// `backbone` on square images of side `imageSize`, a linear head of `classes`.
    init(backbone: ResNet, imageSize: Int, classes: Int, dual: Bool) {
        var side = imageSize
        var stem = 0.0, levels = 0.0
        for level in backbone.levels {
            if let s = level.stem {
                stem += Self.macs(s.conv, side: &side)
                // ResNetLevel's max pool: kernel 3, stride 2, padding 1.
                if s.maxPool { side = (side + 2 - 3) / 2 + 1 }
            }
            for block in level.blocks {
                var shortcutSide = side
                levels += Self.macs(block.conv1, side: &side) + Self.macs(block.conv2, side: &side)
                if let d = block.downsample { levels += Self.macs(d.conv, side: &shortcutSide) }
            }
        }
        stemMACs = stem
        levelMACs = levels
        headMACs = Double(backbone.featureDimension * classes)
        branches = dual ? 2 : 1
    }

    /// Multiply-adds of one forward pass.
    var forwardMACs: Double { branches * (stemMACs + levelMACs) + headMACs }
    /// FLOPs of one forward pass (evaluation).
    var forward: Double { 2 * forwardMACs }
    /// FLOPs of one training step: forward, input and weight gradients, no stem input gradient.
    var trainingStep: Double { 2 * (3 * forwardMACs - branches * stemMACs) }

    /// A conv's multiply-adds on a square input of side `side`, which becomes the output side.
    static func macs(_ conv: Conv2d, side: inout Int) -> Double {
        side = (side + 2 * conv.padding - conv.kernelSize) / conv.stride + 1
        return Double(conv.outChannels * conv.inChannels * conv.kernelSize * conv.kernelSize) * Double(side * side)
    }
}
