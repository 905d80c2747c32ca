"""PyTorch speed peer of `cil bench` (Examples/bench/side-by-side.sh, docs/PERFORMANCE.md).

Measures the CPU training throughput of the CIFAR ResNet-32 of the LUCIR / AANets code
(3x3 stem with 16 channels; 3 stages of 5 BasicBlocks with 16, 32 and 64 channels; 1x1
convolution + batch norm shortcuts where the shape changes; no ReLU after the last block;
global average pooling; a 100-class linear head), and of its dual variant: two such
backbones whose stage outputs are mixed by learned weights alpha (3 levels x 2 branches,
starting at 0.5), both branches trained.

One timed step is a full training step on one fixed batch of random 32x32 images and
labels: zero_grad, forward (training mode, batch statistics), cross-entropy, backward,
SGD (lr 0.1, momentum 0.9, weight decay 5e-4). Warm-up steps are not timed; the rate
printed is BATCH / the median step time, as `cil bench` computes it.

    python3 torch_peer.py [BATCH [STEPS [THREADS]]]      (defaults 128, 10, 2)

Output (side-by-side.sh reads the two "train:" lines):

    torch 2.13.0+cpu threads 2 batch 128
    plain ResNet-32 parameters: N
    plain ResNet-32 train: R img/s
    dual  ResNet-32 parameters: N
    dual  ResNet-32 train: R img/s
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 100
WIDTHS = (16, 32, 64)
BLOCKS_PER_STAGE = 5


class BasicBlock(nn.Module):
    """conv3x3-bn-relu-conv3x3-bn, plus the input (or its 1x1 projection), then ReLU."""

    def __init__(self, in_channels, out_channels, stride, relu_out=True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.downsample = None
        self.relu_out = relu_out

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out)) + shortcut
        return F.relu(out) if self.relu_out else out


def make_stages():
    """The three stages of one backbone; the very last block ends without ReLU."""
    stages = nn.ModuleList()
    in_channels = WIDTHS[0]
    for level, width in enumerate(WIDTHS):
        last_stage = level == len(WIDTHS) - 1
        blocks = []
        for index in range(BLOCKS_PER_STAGE):
            stride = 2 if level > 0 and index == 0 else 1
            relu_out = not (last_stage and index == BLOCKS_PER_STAGE - 1)
            blocks.append(BasicBlock(in_channels, width, stride, relu_out))
            in_channels = width
        stages.append(nn.Sequential(*blocks))
    return stages


class ResNet32(nn.Module):
    """CIFAR ResNet-32; with dual=True, two backbones mixed per stage by alpha."""

    def __init__(self, classes=CLASSES, dual=False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, WIDTHS[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(WIDTHS[0])
        self.branches = nn.ModuleList([make_stages() for _ in range(2 if dual else 1)])
        self.alpha = nn.Parameter(torch.full((len(WIDTHS), 2), 0.5)) if dual else None
        self.fc = nn.Linear(WIDTHS[-1], classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for level in range(len(WIDTHS)):
            if self.alpha is None:
                x = self.branches[0][level](x)
            else:
                x = sum(self.alpha[level, b] * branch[level](x) for b, branch in enumerate(self.branches))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def median_train_rate(model, batch, steps, warmup):
    """Images/s of full SGD training steps on one random batch: BATCH / median step time."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    images = torch.randn(batch, 3, 32, 32)
    labels = torch.randint(0, CLASSES, (batch,))
    model.train()

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("batch", nargs="?", type=int, default=128, help="images per step (128)")
    parser.add_argument("steps", nargs="?", type=int, default=10, help="timed steps per network (10)")
    parser.add_argument("threads", nargs="?", type=int, default=2, help="torch.set_num_threads (2)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (3)")
    args = parser.parse_args()
    if args.batch < 1 or args.steps < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("BATCH, STEPS and THREADS must be positive, --warmup not negative")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__} threads {torch.get_num_threads()} batch {args.batch}", flush=True)
    for name, dual in (("plain", False), ("dual ", True)):
        model = ResNet32(dual=dual)
        print(f"{name} ResNet-32 parameters: {parameter_count(model)}", flush=True)
        rate = median_train_rate(model, args.batch, args.steps, args.warmup)
        print(f"{name} ResNet-32 train: {rate:.1f} img/s", flush=True)


if __name__ == "__main__":
    main()
