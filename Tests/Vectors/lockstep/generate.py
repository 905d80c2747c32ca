#!/usr/bin/env python3
"""Lock-step test vectors for cil: a few real training steps of the original
AANets / MANets PyTorch code on a tiny synthetic image pool, recorded step by step.

Run once by hand, from the repository root:

    python Tests/Vectors/lockstep/generate.py \
        --aan-dir /path/to/class-incremental-learning/adaptive-aggregation-networks \
        --out Tests/Vectors/lockstep

`--aan-dir` is the folder `adaptive-aggregation-networks/` of
yaoyao-liu/class-incremental-learning at commit
6a92ab08170abaaaf791d91e00ba195a5c38672f. Its modules are imported at run time;
none of its code is copied here. Where this script calls the original
(constructors, `BaseTrainer` methods, the three trainers' training functions,
`process_inputs_fp`, `compute_features`, `compute_accuracy`) it patches in
recorders only (loss recorders, optimiser-step wrappers, forward and tensor
hooks): the numbers written are the ones the original's code computed. Every
case is then re-computed by a separate re-statement in this file's own words
(the `restated_*` functions) and the two are compared; the differences are
written to `crosscheck.json`. See README.md for what each file holds.
"""
import argparse
import contextlib
import copy
import hashlib
import importlib
import importlib.machinery
import io
import json
import math
import os
import sys
import tempfile
import types
from argparse import Namespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ORIGINAL_REPO = "yaoyao-liu/class-incremental-learning"
ORIGINAL_COMMIT = "6a92ab08170abaaaf791d91e00ba195a5c38672f"
ORIGINAL_FOLDER = "adaptive-aggregation-networks/"

# ----------------------------------------------------------------------------
# Fixed settings
# ----------------------------------------------------------------------------
SEEDS = {
    "pool": 20210601,          # numpy RandomState: the synthetic images
    "phase0_batches": 101,     # numpy RandomState: phase-0 batch order, crops, flips
    "torch_init": 1993,        # torch.manual_seed before the phase-0 model is built
    "exemplars": 202,          # numpy RandomState: which old-class pool images are "exemplars"
    "phase1_batches": 303,     # numpy RandomState: phase-1 batches, crops, flips
    "torch_phase1": 7,         # torch.manual_seed before the phase-1 models are built (their
                               # random init is overwritten entirely by loading + imprinting)
}
NUM_CLASSES = 15
IMAGES_PER_CLASS = 20
NB_CL_FG = 10          # base classes (phase 0): labels 0..9
NB_CL = 5              # new classes in phase 1: labels 10..14
BATCH = 32
PHASE0_STEPS = 20
PHASE0_STEPS_PER_EPOCH = 10
PHASE1_STEPS = 10
ALPHA_STEPS = 5
BALANCED_BATCH = 20
EXEMPLARS_PER_OLD_CLASS = 8
HERDING_CLASSES = 5
NB_PROTOS = 8

MEAN = (0.5071, 0.4866, 0.4409)
STD = (0.2009, 0.1984, 0.2023)
PAD = 4


# ----------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------
def f32(x):
    """A float32 value as the shortest decimal that round-trips to it."""
    return float(str(np.float32(x)))


def f32list(t):
    return [f32(v) for v in torch.as_tensor(t).detach().reshape(-1).tolist()]


def f64(x):
    return float(x)


def npt(a):
    """A numpy array as a contiguous torch tensor (safetensors needs contiguous data)."""
    return torch.from_numpy(np.ascontiguousarray(a))


def write_json(path, obj):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=1)
        fh.write("\n")


def install_import_placeholders(log):
    """The original's modules import a few packages at module level that none of
    the functions called here use: torchvision (datasets/models/transforms: only
    used to build CIFAR datasets and transforms in BaseTrainer.set_dataset_variables,
    which is not called), tensorboardX (SummaryWriter, only in trainer.py) and
    sklearn.metrics (confusion_matrix, imported but unused). When one of them is
    not importable, an empty placeholder module is registered so that the imports
    succeed. (PyPI has no CPU build of torchvision for torch 2.13.0+cpu: its wheel is
    CUDA-built and fails to import against the +cpu torch.)"""
    placeholders = []

    def module(name, package=False):
        m = types.ModuleType(name)
        m.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=package)
        if package:
            m.__path__ = []
        return m

    def importable(name):
        try:
            importlib.import_module(name)
            return True
        except Exception:
            for k in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
                del sys.modules[k]
            return False

    if not importable("torchvision"):
        tv = module("torchvision", package=True)
        for sub in ("datasets", "models", "transforms"):
            m = module("torchvision." + sub)
            setattr(tv, sub, m)
            sys.modules["torchvision." + sub] = m
        sys.modules["torchvision"] = tv
        placeholders.append("torchvision")
    if not importable("tensorboardX"):
        m = module("tensorboardX")

        class SummaryWriter:  # never instantiated on the paths used here
            def __init__(self, *a, **k):
                raise RuntimeError("placeholder")

        m.SummaryWriter = SummaryWriter
        sys.modules["tensorboardX"] = m
        placeholders.append("tensorboardX")
    if not importable("sklearn.metrics"):
        sk = module("sklearn", package=True)
        skm = module("sklearn.metrics")

        def confusion_matrix(*a, **k):
            raise RuntimeError("placeholder")

        skm.confusion_matrix = confusion_matrix
        sk.metrics = skm
        sys.modules["sklearn"] = sk
        sys.modules["sklearn.metrics"] = skm
        placeholders.append("sklearn")
    for p in placeholders:
        log("placeholder module registered for import only: " + p)
    return placeholders


def import_original(aan_dir):
    sys.path.insert(0, os.path.abspath(aan_dir))
    mods = Namespace()
    mods.resnet_cifar = importlib.import_module("models.modified_resnet_cifar")
    mods.resnetmtl_cifar = importlib.import_module("models.modified_resnetmtl_cifar")
    mods.linear = importlib.import_module("models.modified_linear")
    mods.conv2d_mtl = importlib.import_module("utils.incremental.conv2d_mtl")
    mods.process_fp = importlib.import_module("utils.process_fp")
    mods.compute_features = importlib.import_module("utils.incremental.compute_features")
    mods.compute_accuracy = importlib.import_module("utils.incremental.compute_accuracy")
    mods.base_trainer = importlib.import_module("trainer.base_trainer")
    mods.zeroth_phase = importlib.import_module("trainer.zeroth_phase")
    mods.lucir = importlib.import_module("trainer.incremental_lucir")
    mods.icarl = importlib.import_module("trainer.incremental_icarl")
    return mods


def sha256_of_dir_py(aan_dir):
    """Hashes of the original files used, to pin what was imported."""
    files = [
        "models/modified_resnet_cifar.py", "models/modified_resnetmtl_cifar.py",
        "models/modified_linear.py", "utils/incremental/conv2d_mtl.py",
        "utils/process_fp.py", "utils/incremental/compute_features.py",
        "utils/incremental/compute_accuracy.py", "trainer/base_trainer.py",
        "trainer/zeroth_phase.py", "trainer/incremental_lucir.py",
        "trainer/incremental_icarl.py",
    ]
    out = {}
    for f in files:
        with open(os.path.join(aan_dir, f), "rb") as fh:
            out[f] = hashlib.sha256(fh.read()).hexdigest()
    return out


# ----------------------------------------------------------------------------
# The synthetic pool
# ----------------------------------------------------------------------------
def make_pool():
    """15 classes x 20 images, uint8 HWC 32x32x3. Each class has its own base
    colour, a second colour, and a sinusoidal grating (orientation, frequency)
    plus a class-specific bright square; every image draws its own grating phase,
    a small shift of the square, a brightness jitter and pixel noise.
    Image i has label i // 20."""
    rs = np.random.RandomState(SEEDS["pool"])
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    images = np.zeros((NUM_CLASSES * IMAGES_PER_CLASS, 32, 32, 3), np.uint8)
    labels = np.zeros(NUM_CLASSES * IMAGES_PER_CLASS, np.int64)
    for c in range(NUM_CLASSES):
        base = rs.uniform(40, 215, size=3)
        second = rs.uniform(-70, 70, size=3)
        theta = rs.uniform(0, math.pi)
        freq = rs.uniform(1.5, 5.0)
        sq_y, sq_x = rs.randint(4, 20, size=2)
        sq_col = rs.uniform(-60, 60, size=3)
        for j in range(IMAGES_PER_CLASS):
            phase = rs.uniform(0, 2 * math.pi)
            dy, dx = rs.randint(-3, 4, size=2)
            bright = rs.uniform(-15, 15)
            wave = np.sin(2 * math.pi * freq * (xx * math.cos(theta) + yy * math.sin(theta)) / 32 + phase)
            img = base[None, None, :] + wave[:, :, None] * second[None, None, :] + bright
            y0, x0 = sq_y + dy, sq_x + dx
            img[y0:y0 + 8, x0:x0 + 8, :] += sq_col[None, None, :]
            img += rs.normal(0, 18, size=img.shape)
            images[c * IMAGES_PER_CLASS + j] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
            labels[c * IMAGES_PER_CLASS + j] = c
    return images, labels


# ----------------------------------------------------------------------------
# Transforms (same arithmetic as torchvision's RandomCrop(32, padding=4) ->
# RandomHorizontalFlip -> ToTensor -> Normalize, with the random draws given)
# ----------------------------------------------------------------------------
MEAN_T = torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
STD_T = torch.tensor(STD, dtype=torch.float32)[:, None, None]


def to_tensor_normalize(img_hwc_u8):
    """ToTensor (uint8 HWC -> float32 CHW, divided by 255) then Normalize
    ((x - mean) / std, float32, subtraction then division), as
    torchvision.transforms.ToTensor/Normalize compute it."""
    t = torch.from_numpy(np.ascontiguousarray(img_hwc_u8)).permute(2, 0, 1).contiguous()
    t = t.to(torch.float32).div(255)
    return t.sub(MEAN_T).div(STD_T)


def augment(img_hwc_u8, top, left, flip):
    """RandomCrop(32, padding=4) with the crop window's top-left corner at
    (top, left) of the zero-padded 40x40 image, then a horizontal mirror if flip."""
    padded = np.pad(img_hwc_u8, ((PAD, PAD), (PAD, PAD), (0, 0)), mode="constant", constant_values=0)
    crop = padded[top:top + 32, left:left + 32, :]
    if flip:
        crop = crop[:, ::-1, :]
    return to_tensor_normalize(crop)


def draw_aug(rs, n):
    tops = rs.randint(0, 2 * PAD + 1, size=n)
    lefts = rs.randint(0, 2 * PAD + 1, size=n)
    flips = rs.randint(0, 2, size=n)
    return tops, lefts, flips


def make_batch(images, labels, idx, tops, lefts, flips):
    x = torch.stack([augment(images[i], int(t), int(l), bool(f)) for i, t, l, f in zip(idx, tops, lefts, flips)])
    y = torch.from_numpy(labels[np.asarray(idx)].astype(np.int64))
    return x, y


def make_test_batch(images, labels, idx):
    x = torch.stack([to_tensor_normalize(images[i]) for i in idx])
    y = torch.from_numpy(labels[np.asarray(idx)].astype(np.int64))
    return x, y


def torchvision_crosscheck(images, idx, tops, lefts, flips, batch):
    """If a working torchvision is importable, check the augmentation above
    against torchvision.transforms.functional on PIL images (the original's path)."""
    try:
        import torchvision.transforms.functional as TF
        from PIL import Image
        if not hasattr(TF, "pad"):
            return "torchvision not available: not checked"
    except Exception:
        return "torchvision not available: not checked"
    xs = []
    for i, t, l, f in zip(idx, tops, lefts, flips):
        img = Image.fromarray(images[i])
        img = TF.pad(img, PAD, fill=0)
        img = TF.crop(img, int(t), int(l), 32, 32)
        if f:
            img = TF.hflip(img)
        x = TF.normalize(TF.to_tensor(img), MEAN, STD)
        xs.append(x)
    ok = torch.equal(torch.stack(xs), batch)
    return "torchvision check: " + ("bitwise equal" if ok else "DIFFERENT")


class ArrayImageSet(torch.utils.data.Dataset):
    """Stands in for the torchvision CIFAR100 object whose `.data` (uint8 NHWC) and
    `.targets` the original overwrites before building a DataLoader
    (BaseTrainer.imprint_weights / set_exemplar_set): `__getitem__` applies the
    test transform (ToTensor + Normalize) to `data[i]`, as CIFAR100.__getitem__ does
    after Image.fromarray (a lossless round trip for uint8 RGB)."""

    def __init__(self):
        self.data = None
        self.targets = None

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return to_tensor_normalize(self.data[i]), self.targets[i]


# ----------------------------------------------------------------------------
# Recording harness around the original trainers
# ----------------------------------------------------------------------------
RECORDED_LOSSES = ("CrossEntropyLoss", "CosineEmbeddingLoss", "MarginRankingLoss", "KLDivLoss")


class Recorder:
    def __init__(self):
        self.stage = None
        self.counter = {"train": 0, "balanced": 0, "test": 0}
        self.current = None
        self.steps = {"train": [], "balanced": []}
        self.step1 = {}

    def begin(self, stage, meta, x, y):
        self.stage = stage
        self.counter[stage] += 1
        if stage == "test":
            self.current = None
            return
        self.current = {"meta": meta, "losses": {}, "alpha_grad_batch": [None, None, None], "targets": y}
        self.steps[stage].append(self.current)

    def end(self):
        self.stage = None
        self.current = None

    def active(self):
        return self.current is not None and torch.is_grad_enabled()

    def on_loss(self, name, value):
        if self.active():
            if name in self.current["losses"]:
                raise RuntimeError("loss %s computed twice in one step" % name)
            self.current["losses"][name] = value.detach().clone()

    def on_note(self, key, value):
        if self.active():
            self.current.setdefault("notes", {})[key] = value

    def on_backward(self, value):
        if self.active():
            self.current["total"] = value.detach().clone()

    def on_alpha_grad(self, k, g):
        # Tensor hooks run inside backward, where grad mode is off: check the batch only.
        if self.current is not None:
            self.current["alpha_grad_batch"][k] = g.detach().clone()


class StagedLoader:
    """A loader of fixed, pre-built batches. Each `iter()` yields the next
    `per_epoch` batches and tells the recorder which batch is current."""

    def __init__(self, rec, stage, batches, metas, per_epoch=None, repeat=False):
        self.rec, self.stage, self.batches, self.metas = rec, stage, batches, metas
        self.per_epoch = per_epoch or len(batches)
        self.repeat = repeat  # True: every iter() yields the same batches (test loaders)
        self.pos = 0

    def __len__(self):
        return self.per_epoch

    def __iter__(self):
        chunk = range(self.pos, min(self.pos + self.per_epoch, len(self.batches)))
        if not self.repeat:
            self.pos += self.per_epoch
        for i in chunk:
            x, y = self.batches[i]
            self.rec.begin(self.stage, self.metas[i] if self.metas else None, x, y)
            yield x, y
        self.rec.end()


class RecordingNN:
    """Replaces the module-global `nn` of a trainer module: every attribute is
    torch.nn's, except that the loss classes listed in RECORDED_LOSSES return a
    callable that computes the real loss and hands its value to the recorder.

    One compatibility shim: trainer/incremental_lucir.py calls
    nn.MarginRankingLoss(margin)(x1 [N,1], x2 [N,1], target [N]). PyTorch 1.2 (the
    original's framework) accepted this and broadcast -target*(x1-x2)+margin to
    [N, N] before the mean; since PyTorch 1.11 torch.nn.functional.margin_ranking_loss
    rejects inputs whose numbers of dimensions differ. For such calls the shim calls
    the ATen operator torch.margin_ranking_loss directly (the one the functional
    wraps, without the Python-level check), which still broadcasts as PyTorch 1.2
    did: max(0, margin - target_j*(x1_i - x2_i)) averaged over all N*N (i, j)."""

    def __init__(self, rec):
        self._rec = rec

    def __getattr__(self, name):
        real = getattr(torch.nn, name)
        if name not in RECORDED_LOSSES:
            return real
        rec = self._rec

        def factory(*a, **k):
            mod = real(*a, **k)

            def call(*inputs):
                if name == "MarginRankingLoss" and len({t.dim() for t in inputs}) > 1:
                    assert mod.reduction == "mean"
                    out = torch.margin_ranking_loss(*inputs, mod.margin, 1)  # 1 = mean reduction
                    rec.on_note("MarginRankingLoss_broadcast_elements",
                                int(torch.broadcast_shapes(*[t.shape for t in inputs]).numel()))
                else:
                    out = mod(*inputs)
                rec.on_loss(name, out)
                return out
            return call
        return factory


@contextlib.contextmanager
def patched_trainer(rec, module):
    old_nn = module.nn
    module.nn = RecordingNN(rec)
    orig_backward = torch.Tensor.backward

    def backward(self, *a, **k):
        rec.on_backward(self)
        return orig_backward(self, *a, **k)

    torch.Tensor.backward = backward
    try:
        yield
    finally:
        torch.Tensor.backward = orig_backward
        module.nn = old_nn


def wrap_step(opt, callback, before=None):
    orig = opt.step

    def step(*a, **k):
        if before is not None:
            before()
        r = orig(*a, **k)
        callback()
        return r
    opt.step = step


# Tensors recorded around phase-0 step 1 (phase0_step1.safetensors): a few conv
# weights of each stage, the classifier, and every BatchNorm tensor.
STEP1_PARAMS = ["conv1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                "layer3.0.downsample.0.weight", "fc.weight", "fc.sigma"]


def step1_keys(sd):
    bn = bn_names(sd)
    params = STEP1_PARAMS + [k for k in bn if k.endswith(".weight") or k.endswith(".bias")]
    return params, STEP1_PARAMS + bn


# ----------------------------------------------------------------------------
# Model helpers
# ----------------------------------------------------------------------------
def state_dict_tensors(model):
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def bn_names(sd):
    """All tensors of the BatchNorm modules (weight, bias, running_mean, running_var,
    num_batches_tracked), in state-dict order."""
    return [k for k in sd if (k.rsplit(".", 1)[0] + ".running_mean") in sd]


def make_base_trainer(mods, save_path, fusion_lr):
    BT = mods.base_trainer.BaseTrainer
    bt = BT.__new__(BT)  # __init__ would build CIFAR datasets; set the fields it sets instead
    bt.args = Namespace(
        dataset="cifar100", num_classes=NUM_CLASSES, nb_cl_fg=NB_CL_FG, nb_cl=NB_CL,
        nb_protos=NB_PROTOS, dynamic_budget=True, branch_mode="dual", branch_1="ss",
        branch_2="free", base_lr1=0.1, base_lr2=0.1, custom_weight_decay=5e-4,
        custom_momentum=0.9, fusion_lr=fusion_lr, lr_factor=0.1, the_lambda=5.0,
        dist=0.5, K=2, lw_mr=1.0, icarl_T=2, icarl_beta=0.25, eval_batch_size=128,
        test_batch_size=BALANCED_BATCH, train_batch_size=BATCH, num_workers=0,
        epochs=4)
    bt.device = torch.device("cpu")
    bt.save_path = save_path
    bt.network = mods.resnet_cifar.resnet32
    bt.network_mtl = mods.resnetmtl_cifar.resnetmtl32
    # set_dataset_variables would give [int(0.5*epochs), int(0.75*epochs)] = [2, 3] for
    # epochs = 4; here an "epoch" is 10 steps (see README).
    bt.lr_strat = [2, 3]
    bt.dictionary_size = IMAGES_PER_CLASS
    bt.evalset = ArrayImageSet()
    return bt


# ----------------------------------------------------------------------------
# Case 1: phase 0
# ----------------------------------------------------------------------------
def build_phase0_batches(images, labels):
    rs = np.random.RandomState(SEEDS["phase0_batches"])
    base = np.arange(NB_CL_FG * IMAGES_PER_CLASS)
    order = np.concatenate([rs.permutation(base) for _ in range(4)])[:PHASE0_STEPS * BATCH]
    metas, batches = [], []
    for s in range(PHASE0_STEPS):
        idx = order[s * BATCH:(s + 1) * BATCH]
        t, l, f = draw_aug(rs, BATCH)
        metas.append({"pool_indices": idx.tolist(), "crop_top": t.tolist(), "crop_left": l.tolist(),
                      "flip": f.tolist()})
        batches.append(make_batch(images, labels, idx, t, l, f))
    return metas, batches


def run_phase0(mods, bt, images, labels, log):
    metas, batches = build_phase0_batches(images, labels)
    bt.init_fusion_vars()
    torch.manual_seed(SEEDS["torch_init"])
    start_iter = NB_CL_FG // NB_CL - 1
    with contextlib.redirect_stdout(io.StringIO()):
        b1, _, _, _, _, cur_lambda, _ = bt.init_current_phase_model(start_iter, start_iter, None, None)
    init_sd = state_dict_tensors(b1)
    tg_opt, tg_sched, _, _ = bt.set_optimizer(start_iter, start_iter, b1, None, None, None)

    rec = Recorder()
    post = []
    grad_keys, after_keys = step1_keys(init_sd)
    step1_extra = {}

    def before_step():
        if not post:
            named = dict(b1.named_parameters())
            step1_extra["grad"] = {k: named[k].grad.detach().clone() for k in grad_keys}

    def after_step():
        post.append({"lr": tg_opt.param_groups[0]["lr"], "sigma": b1.fc.sigma.detach().clone()})
        if len(post) == 1:
            sd = b1.state_dict()
            step1_extra["after"] = {k: sd[k].detach().clone() for k in after_keys}
            step1_extra["momentum"] = {k: tg_opt.state[p]["momentum_buffer"].detach().clone()
                                       for k, p in b1.named_parameters() if k in grad_keys}
    wrap_step(tg_opt, after_step, before_step)

    def fwd_hook(module, inp, out):
        if rec.active():
            rec.current["logits"] = out.detach().clone()
            if rec.counter["train"] == 1:
                rec.step1["logits"] = out.detach().clone()

    def fc_hook(module, inp, out):
        if rec.active() and rec.counter["train"] == 1:
            rec.step1["features"] = inp[0].detach().clone()
    h1 = b1.register_forward_hook(fwd_hook)
    h2 = b1.fc.register_forward_hook(fc_hook)

    trainloader = StagedLoader(rec, "train", batches, metas, per_epoch=PHASE0_STEPS_PER_EPOCH)
    test_idx = [c * IMAGES_PER_CLASS for c in range(NB_CL_FG)]
    testloader = StagedLoader(rec, "test", [make_test_batch(images, labels, test_idx)], None, repeat=True)
    out = io.StringIO()
    with patched_trainer(rec, mods.zeroth_phase), contextlib.redirect_stdout(out):
        b1 = mods.zeroth_phase.incremental_train_and_eval_zeroth_phase(
            bt.args, PHASE0_STEPS // PHASE0_STEPS_PER_EPOCH, b1, None, tg_opt, tg_sched,
            trainloader, testloader, start_iter, start_iter, cur_lambda, bt.args.dist,
            bt.args.K, bt.args.lw_mr, device=torch.device("cpu"))
    h1.remove()
    h2.remove()
    log("phase 0 trainer output:\n" + out.getvalue())
    assert len(rec.steps["train"]) == PHASE0_STEPS and len(post) == PHASE0_STEPS

    steps = []
    for s, (r, p) in enumerate(zip(rec.steps["train"], post)):
        assert torch.equal(r["losses"]["CrossEntropyLoss"], r["total"])
        pred = r["logits"].argmax(1)
        steps.append(dict(
            step=s + 1, **r["meta"], labels=r["targets"].tolist(), lr=f32(p["lr"]),
            loss=f32(r["total"].item()), sigma_after=f32(p["sigma"].item()),
            correct=int((pred == r["targets"]).sum().item())))
    final_sd = state_dict_tensors(b1)
    return dict(model=b1, init_sd=init_sd, final_sd=final_sd, steps=steps, batches=batches,
                metas=metas, step1=rec.step1, step1_extra=step1_extra, grad_keys=grad_keys,
                after_keys=after_keys)


def restated_phase0(mods, init_sd, batches, dtype=torch.float32):
    """Phase-0 step in this file's own words (cf. trainer/zeroth_phase.py): SGD over
    all parameters (momentum 0.9, wd 5e-4), per step zero_grad, forward in train
    mode, softmax CE on the sigma-scaled cosine logits, backward, step.
    With dtype=float64 it gives the float64 trajectory from the same float32 start."""
    model = mods.resnet_cifar.resnet32(num_classes=NB_CL_FG)
    model.load_state_dict(init_sd)
    model.to(dtype)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    losses, sigmas = [], []
    step1_grads = None
    for s, (x, y) in enumerate(batches):
        for g in opt.param_groups:
            g["lr"] = 0.1 if s < PHASE0_STEPS_PER_EPOCH else 0.1 * 0.1
        opt.zero_grad()
        loss = F.cross_entropy(model(x.to(dtype)), y)
        loss.backward()
        if s == 0:
            step1_grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
        opt.step()
        losses.append(loss.item())
        sigmas.append(model.fc.sigma.item())
    return losses, sigmas, state_dict_tensors(model), step1_grads


# ----------------------------------------------------------------------------
# Cases 2 and 3: phase 1 on MANets (dual branch: b1 = ss, b2 = free)
# ----------------------------------------------------------------------------
def choose_exemplars():
    rs = np.random.RandomState(SEEDS["exemplars"])
    ex = {}
    for c in range(NB_CL_FG):
        pick = np.sort(rs.choice(IMAGES_PER_CLASS, EXEMPLARS_PER_OLD_CLASS, replace=False))
        ex[c] = (c * IMAGES_PER_CLASS + pick).tolist()
    return ex


def build_phase1_batches(images, labels, exemplars):
    rs = np.random.RandomState(SEEDS["phase1_batches"])
    new_pool = np.arange(NB_CL_FG * IMAGES_PER_CLASS, NUM_CLASSES * IMAGES_PER_CLASS)
    old_pool = np.array(sum((exemplars[c] for c in range(NB_CL_FG)), []))
    # Number of old-class (exemplar) samples per training batch; step 6 has none.
    n_old = rs.randint(6, 14, size=PHASE1_STEPS)
    n_old[5] = 0
    train_metas, train_batches = [], []
    for s in range(PHASE1_STEPS):
        new = rs.choice(new_pool, BATCH - n_old[s], replace=False)
        old = rs.choice(old_pool, n_old[s], replace=False)
        idx = rs.permutation(np.concatenate([new, old]))
        t, l, f = draw_aug(rs, BATCH)
        train_metas.append({"pool_indices": idx.tolist(), "crop_top": t.tolist(), "crop_left": l.tolist(),
                            "flip": f.tolist()})
        train_batches.append(make_batch(images, labels, idx, t, l, f))
    # Balanced batches of 20: 2 images of each new class, then 1 exemplar of each
    # old class, grouped by class (the original's balanced loader is unshuffled,
    # new-class samples first, then the exemplars class by class).
    bal_metas, bal_batches = [], []
    for s in range(ALPHA_STEPS):
        idx = []
        for c in range(NB_CL_FG, NUM_CLASSES):
            idx += (c * IMAGES_PER_CLASS + np.sort(rs.choice(IMAGES_PER_CLASS, 2, replace=False))).tolist()
        for c in range(NB_CL_FG):
            idx.append(int(exemplars[c][rs.randint(0, EXEMPLARS_PER_OLD_CLASS)]))
        idx = np.array(idx)
        t, l, f = draw_aug(rs, BALANCED_BATCH)
        bal_metas.append({"pool_indices": idx.tolist(), "crop_top": t.tolist(), "crop_left": l.tolist(),
                          "flip": f.tolist()})
        bal_batches.append(make_batch(images, labels, idx, t, l, f))
    return train_metas, train_batches, bal_metas, bal_batches


def setup_phase1(mods, bt, phase0_model, images, labels, exemplars):
    """As trainer/trainer.py does at the start of phase 1: init_current_phase_model,
    imprint_weights, set_optimizer (all the original's BaseTrainer methods)."""
    bt.init_fusion_vars()
    start_iter = NB_CL_FG // NB_CL - 1
    iteration = start_iter + 1
    torch.manual_seed(SEEDS["torch_phase1"])
    with contextlib.redirect_stdout(io.StringIO()):
        b1, b2, ref, ref_b2, mult, cur_lambda, last_iter = bt.init_current_phase_model(
            iteration, start_iter, copy.deepcopy(phase0_model), None)
    new_idx = np.arange(NB_CL_FG * IMAGES_PER_CLASS, NUM_CLASSES * IMAGES_PER_CLASS)
    ex_idx = np.array(sum((exemplars[c] for c in range(NB_CL_FG)), []))
    X_train = np.concatenate([images[new_idx], images[ex_idx]])
    map_Y_train = np.concatenate([labels[new_idx], labels[ex_idx]])
    avg_norm = torch.mean(b1.fc.fc1.weight.data.norm(dim=1, keepdim=True), dim=0).double()
    b1 = bt.imprint_weights(b1, b2, iteration, False, X_train, map_Y_train, IMAGES_PER_CLASS)
    tg_opt, tg_sched, fus_opt, fus_sched = bt.set_optimizer(iteration, start_iter, b1, ref, b2, ref_b2)
    return dict(b1=b1, b2=b2, ref=ref, ref_b2=ref_b2, cur_lambda=cur_lambda, lambda_mult=mult,
                iteration=iteration, start_iter=start_iter, tg_opt=tg_opt, tg_sched=tg_sched,
                fus_opt=fus_opt, fus_sched=fus_sched, avg_norm=avg_norm, X_protoset=images[ex_idx],
                Y_protoset=labels[ex_idx])


def group_names(opt, models):
    names = {}
    for prefix, m in models.items():
        for n, p in m.named_parameters():
            names[id(p)] = prefix + n
    groups = []
    for g in opt.param_groups:
        groups.append({"lr": g["lr"], "weight_decay": g["weight_decay"], "momentum": g["momentum"],
                       "params": [names.get(id(p), "?") for p in g["params"]]})
    return groups


def run_phase1(mods, bt, phase0_model, images, labels, exemplars, batches, baseline, log):
    train_metas, train_batches, bal_metas, bal_batches = batches
    S = setup_phase1(mods, bt, phase0_model, images, labels, exemplars)
    b1, b2, ref = S["b1"], S["b2"], S["ref"]
    alphas = list(bt.fusion_vars)
    imprint = {"fc2": b1.fc.fc2.weight.detach().clone(), "avg_norm": S["avg_norm"]}
    init_info = {
        "alpha_init": [a.item() for a in alphas],
        "sigma_init": b1.fc.sigma.item(),
        "groups": group_names(S["tg_opt"], {"b1.": b1, "b2.": b2}),
        "fusion_groups": [{"lr": g["lr"], "weight_decay": g["weight_decay"], "momentum": g["momentum"],
                           "params": ["fusion_vars.%d" % i for i in range(len(g["params"]))]}
                          for g in S["fus_opt"].param_groups],
        "cur_lambda": S["cur_lambda"], "lambda_mult": S["lambda_mult"],
        "b1_requires_grad_false": [n for n, p in b1.named_parameters() if not p.requires_grad],
    }
    b1_start = state_dict_tensors(b1)

    rec = Recorder()
    post_train, post_alpha = [], []
    snapshot = {}

    def after_tg():
        post_train.append({"sigma": b1.fc.sigma.item(), "alpha": [a.item() for a in alphas],
                           "alpha_grad": [None if a.grad is None else a.grad.item() for a in alphas]})
        if len(post_train) == PHASE1_STEPS:
            snapshot["alpha"] = [a.detach().clone() for a in alphas]
            snapshot["alpha_grad"] = [a.grad.detach().clone() for a in alphas]

    def after_fus():
        post_alpha.append({"sigma": b1.fc.sigma.item(), "alpha": [a.item() for a in alphas],
                           "alpha_grad": [None if a.grad is None else a.grad.item() for a in alphas],
                           "lr": S["fus_opt"].param_groups[0]["lr"]})
    wrap_step(S["tg_opt"], after_tg)
    wrap_step(S["fus_opt"], after_fus)
    handles = [a.register_hook(lambda g, k=k: rec.on_alpha_grad(k, g)) for k, a in enumerate(alphas)]

    def cap(name, which):
        def hook(module, inp, out):
            if rec.active():
                t = inp[0] if which == "in" else out
                rec.current.setdefault("cap", {})[name] = t.detach().clone()
                if rec.stage == "train" and rec.counter["train"] == 1:
                    rec.step1[name] = t.detach().clone()
        return hook
    handles += [b1.fc.register_forward_hook(cap("logits", "out")),
                b1.fc.register_forward_hook(cap("features", "in")),
                b1.fc.fc1.register_forward_hook(cap("cos_old", "out")),
                b1.fc.fc2.register_forward_hook(cap("cos_new", "out")),
                ref.fc.register_forward_hook(cap("ref_logits", "out")),
                ref.fc.register_forward_hook(cap("ref_features", "in"))]

    trainloader = StagedLoader(rec, "train", train_batches, train_metas)
    balancedloader = StagedLoader(rec, "balanced", bal_batches, bal_metas)
    test_idx = [c * IMAGES_PER_CLASS + 1 for c in range(NUM_CLASSES)]
    testloader = StagedLoader(rec, "test", [make_test_batch(images, labels, test_idx)], None, repeat=True)
    module = mods.lucir if baseline == "lucir" else mods.icarl
    order_list = list(range(NUM_CLASSES))
    a = bt.args
    out = io.StringIO()
    with patched_trainer(rec, module), contextlib.redirect_stdout(out):
        common = (a, 1, bt.fusion_vars, bt.ref_fusion_vars, b1, ref, b2, S["ref_b2"], S["tg_opt"],
                  S["tg_sched"], S["fus_opt"], S["fus_sched"], trainloader, testloader,
                  S["iteration"], S["start_iter"], [S["X_protoset"]], [S["Y_protoset"]], order_list,
                  S["cur_lambda"], a.dist, a.K, a.lw_mr, balancedloader)
        if baseline == "lucir":
            b1, b2 = module.incremental_train_and_eval(*common, device=torch.device("cpu"))
        else:
            b1, b2 = module.incremental_train_and_eval(*common, a.icarl_T, a.icarl_beta,
                                                       device=torch.device("cpu"))
    for h in handles:
        h.remove()
    log("%s trainer output:\n%s" % (baseline, out.getvalue()))
    assert len(rec.steps["train"]) == PHASE1_STEPS and len(post_train) == PHASE1_STEPS
    assert len(rec.steps["balanced"]) == ALPHA_STEPS and len(post_alpha) == ALPHA_STEPS

    lam = S["cur_lambda"]
    train_steps = []
    for s, (r, p) in enumerate(zip(rec.steps["train"], post_train)):
        L = r["losses"]
        y = r["targets"]
        hard = int((y < NB_CL_FG).sum().item())
        st = dict(step=s + 1, **r["meta"], labels=y.tolist(), lr=S["tg_opt"].param_groups[0]["lr"],
                  n_old_class_samples=hard)
        st["loss_ce"] = f32(L["CrossEntropyLoss"].item())
        if baseline == "lucir":
            lf_raw = L["CosineEmbeddingLoss"]
            st["loss_lf_raw"] = f32(lf_raw.item())
            st["loss_lf"] = f32((lf_raw * lam).item())
            if hard > 0:
                mr_raw = L["MarginRankingLoss"]
                st["margin_ranking_active"] = True
                st["loss_mr_raw"] = f32(mr_raw.item())
                st["loss_mr"] = f32((mr_raw * a.lw_mr).item())
                cos = torch.cat([r["cap"]["cos_old"], r["cap"]["cos_new"]], 1)
                gt = cos[torch.arange(len(y)), y][y < NB_CL_FG]
                neg = cos[y < NB_CL_FG, NB_CL_FG:].topk(a.K, dim=1)[0]
                st["mr_pairs"] = hard * a.K
                st["mr_broadcast_elements"] = r["notes"]["MarginRankingLoss_broadcast_elements"]
                st["mr_pairs_violating"] = int((a.dist - (gt[:, None] - neg) > 0).sum().item())
            else:
                assert "MarginRankingLoss" not in L
                st["margin_ranking_active"] = False
                st["loss_mr_raw"] = 0.0
                st["loss_mr"] = 0.0
                st["mr_pairs"] = 0
                st["mr_broadcast_elements"] = 0
                st["mr_pairs_violating"] = 0
        else:
            kd_raw = L["KLDivLoss"]
            st["loss_kd_raw"] = f32(kd_raw.item())
            kd = kd_raw * a.icarl_T * a.icarl_T * a.icarl_beta * NB_CL_FG
            st["loss_kd"] = f32(kd.item())
        st["loss_total"] = f32(r["total"].item())
        st["sigma_after"] = f32(p["sigma"])
        st["alpha_after"] = [f32(v) for v in p["alpha"]]
        st["alpha_grad_batch"] = [f32(g.item()) for g in r["alpha_grad_batch"]]
        st["alpha_grad_after"] = [f32(v) for v in p["alpha_grad"]]
        st["correct"] = int((r["cap"]["logits"].argmax(1) == y).sum().item())
        train_steps.append(st)
    alpha_steps = []
    for s, (r, p) in enumerate(zip(rec.steps["balanced"], post_alpha)):
        y = r["targets"]
        assert torch.equal(r["losses"]["CrossEntropyLoss"], r["total"])
        alpha_steps.append(dict(
            step=s + 1, **r["meta"], labels=y.tolist(), fusion_lr=p["lr"],
            loss_ce=f32(r["total"].item()),
            alpha_grad_batch=[f32(g.item()) for g in r["alpha_grad_batch"]],
            alpha_grad_used=[f32(v) for v in p["alpha_grad"]],
            alpha_after=[f32(v) for v in p["alpha"]],
            correct=int((r["cap"]["logits"].argmax(1) == y).sum().item())))

    torch12 = None
    if baseline == "lucir":
        torch12 = alpha_steps_torch12(mods, bt, b1, b2, snapshot, bal_batches)

    final = {"b1": state_dict_tensors(b1), "b2": state_dict_tensors(b2),
             "alpha": [x.detach().clone() for x in alphas]}
    ref_sd_unchanged = all(torch.equal(v, phase0_model.state_dict()[k]) for k, v in ref.state_dict().items())
    return dict(S=S, init_info=init_info, imprint=imprint, train_steps=train_steps,
                alpha_steps=alpha_steps, step1=rec.step1, final=final, b1_start=b1_start,
                torch12=torch12, ref_unchanged=ref_sd_unchanged)


def alpha_steps_torch12(mods, bt, b1, b2, snapshot, bal_batches):
    """Replays the 5 LUCIR alpha steps from the state after the 10th training step
    with the SGD update of PyTorch 1.2 (the original's framework), which adds
    weight_decay * p to p.grad IN PLACE (d_p = p.grad.data; d_p.add_(wd, p.data)),
    so with the never-zeroed LUCIR alpha gradient the decay term stays in .grad.
    torch 2.13 adds it out of place. Networks are unchanged by alpha steps, so
    only alpha is replayed; the real alpha values are restored afterwards."""
    alphas = list(bt.fusion_vars)
    keep = [(a.detach().clone(), a.grad.detach().clone()) for a in alphas]
    lr, mom, wd = bt.args.fusion_lr, bt.args.custom_momentum, bt.args.custom_weight_decay
    with torch.no_grad():
        for a, v, g in zip(alphas, snapshot["alpha"], snapshot["alpha_grad"]):
            a.copy_(v)
            a.grad = g.clone()
    b1.eval()
    b2.eval()
    bufs = [None] * len(alphas)
    out = []
    for x, y in bal_batches:
        logits, _ = mods.process_fp.process_inputs_fp(bt.args, bt.fusion_vars, b1, b2, x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        with torch.no_grad():
            for i, a in enumerate(alphas):
                d = a.grad
                d.add_(a, alpha=wd)             # in place, as PyTorch 1.2 did
                if bufs[i] is None:
                    bufs[i] = d.clone()
                else:
                    bufs[i].mul_(mom).add_(d)
                a.add_(bufs[i], alpha=-lr)
        out.append({"loss_ce": f32(loss.item()), "alpha_after": [f32(a.item()) for a in alphas],
                    "alpha_grad_after": [f32(a.grad.item()) for a in alphas]})
    with torch.no_grad():
        for a, (v, g) in zip(alphas, keep):
            a.copy_(v)
            a.grad = g
    return out


def restated_phase1(mods, phase0_final_sd, fc2, batches, baseline, fusion_lr, dtype=torch.float32):
    """Phase 1 in this file's own words, from the phase-0 state dict and the
    imprinted fc2: cf. trainer/base_trainer.py (init_current_phase_model,
    set_optimizer), utils/process_fp.py (aggregation), trainer/incremental_lucir.py
    and trainer/incremental_icarl.py (losses, alpha updates)."""
    train_metas, train_batches, bal_metas, bal_batches = batches
    b1 = mods.resnetmtl_cifar.resnetmtl32(num_classes=NB_CL_FG)
    sd = b1.state_dict()
    sd.update(phase0_final_sd)
    b1.load_state_dict(sd)
    b2 = mods.resnet_cifar.resnet32(num_classes=NB_CL_FG)
    b2.load_state_dict(phase0_final_sd)
    ref = mods.resnet_cifar.resnet32(num_classes=NB_CL_FG)
    ref.load_state_dict(phase0_final_sd)
    ref.eval()
    head = mods.linear.SplitCosineLinear(64, NB_CL_FG, NB_CL)
    with torch.no_grad():
        head.fc1.weight.copy_(phase0_final_sd["fc.weight"])
        head.fc2.weight.copy_(fc2)
        head.sigma.copy_(phase0_final_sd["fc.sigma"])
    b1.fc = head
    for m in (b1, b2, ref):
        m.to(dtype)
    alphas = [nn.Parameter(torch.tensor([0.5], dtype=dtype)) for _ in range(3)]
    fc1_ids = {id(p) for p in head.fc1.parameters()}
    g1 = [p for p in b1.parameters() if id(p) not in fc1_ids and p.requires_grad]
    opt = torch.optim.SGD([{"params": g1, "lr": 0.1, "weight_decay": 5e-4},
                           {"params": list(b2.parameters()), "lr": 0.1, "weight_decay": 5e-4},
                           {"params": list(head.fc1.parameters()), "lr": 0.0, "weight_decay": 0.0}],
                          lr=0.1, momentum=0.9, weight_decay=5e-4)
    fopt = torch.optim.SGD(alphas, lr=fusion_lr, momentum=0.9, weight_decay=5e-4)
    lam = 5.0 * math.sqrt(NB_CL_FG / NB_CL)

    def features(x):
        def level1(m, x):
            return m.layer1(m.relu(m.bn1(m.conv1(x))))
        h = alphas[0] * level1(b1, x) + (1 - alphas[0]) * level1(b2, x)
        h = alphas[1] * b1.layer2(h) + (1 - alphas[1]) * b2.layer2(h)
        h = alphas[2] * b1.avgpool(b1.layer3(h)) + (1 - alphas[2]) * b2.avgpool(b2.layer3(h))
        return h.flatten(1)

    def cosines(f):
        return torch.cat([F.linear(F.normalize(f, dim=1), F.normalize(head.fc1.weight, dim=1)),
                          F.linear(F.normalize(f, dim=1), F.normalize(head.fc2.weight, dim=1))], 1)

    res = {"train": [], "alpha": []}
    b1.train()
    b2.train()
    for x, y in train_batches:
        x = x.to(dtype)
        opt.zero_grad()
        f = features(x)
        cos = cosines(f)
        logits = head.sigma * cos
        ce = F.cross_entropy(logits, y)
        rec = {"loss_ce": ce.item()}
        if baseline == "lucir":
            with torch.no_grad():
                f_ref = ref.avgpool(ref.layer3(ref.layer2(ref.layer1(ref.relu(ref.bn1(ref.conv1(x))))))).flatten(1)
            # CosineEmbeddingLoss with target 1: mean(1 - <a,b> / sqrt((|a|^2+1e-12)(|b|^2+1e-12)))
            num = (f * f_ref).sum(1)
            den = (((f * f).sum(1) + 1e-12) * ((f_ref * f_ref).sum(1) + 1e-12)).sqrt()
            lf = (1 - num / den).mean() * lam
            hard = y < NB_CL_FG
            if hard.any():
                gt = cos[torch.arange(len(y)), y][hard]
                neg = cos[hard, NB_CL_FG:].topk(2, dim=1)[0]
                # margin ranking over the P = n_old*K (gt, neg) pairs, written as PyTorch 1.2's
                # broadcast evaluates the trainer's call (x1, x2 of shape [P, 1], target [P]):
                # max(0, margin - target_j*(x1_i - x2_i)) averaged over all P*P (i, j); with
                # target = 1 this equals the mean over the P pairs.
                x1 = gt[:, None].expand_as(neg).reshape(-1, 1)
                x2 = neg.reshape(-1, 1)
                target = torch.ones(x1.shape[0], dtype=dtype)
                mr = torch.clamp(-target * (x1 - x2) + 0.5, min=0).mean() * 1.0
            else:
                mr = torch.zeros(1)
            loss = lf + ce + mr
            rec.update(loss_lf=lf.item(), loss_mr=mr.item())
        else:
            with torch.no_grad():
                ref_logits = ref(x)
            T, beta = 2.0, 0.25
            p_old = F.softmax(ref_logits / T, dim=1)
            logq = F.log_softmax(logits[:, :NB_CL_FG] / T, dim=1)
            kl = torch.xlogy(p_old, p_old).sub(p_old * logq).sum() / p_old.numel()
            kd = kl * T * T * beta * NB_CL_FG
            loss = kd + ce
            rec.update(loss_kd=kd.item())
        loss.backward()
        opt.step()
        rec.update(loss_total=loss.item(), sigma_after=head.sigma.item(),
                   alpha_grad_after=[a.grad.item() for a in alphas])
        res["train"].append(rec)
    b1.eval()
    b2.eval()
    for x, y in bal_batches:
        x = x.to(dtype)
        if baseline == "icarl":
            fopt.zero_grad()
        f = features(x)
        loss = F.cross_entropy(head.sigma * cosines(f), y)
        loss.backward()
        fopt.step()
        res["alpha"].append({"loss_ce": loss.item(), "alpha_after": [a.item() for a in alphas],
                             "alpha_grad_used": [a.grad.item() for a in alphas]})
    res["final_b1"] = state_dict_tensors(b1)
    res["final_b2"] = state_dict_tensors(b2)
    return res


# ----------------------------------------------------------------------------
# Case 4: herding, class means, NME
# ----------------------------------------------------------------------------
def run_herding(mods, bt, phase0_model, images, labels):
    model = copy.deepcopy(phase0_model)
    model.eval()
    order = np.arange(NUM_CLASSES)
    alpha_dr_herding, prototypes = bt.init_prototypes(IMAGES_PER_CLASS, order, images, labels)
    # set_exemplar_set herds the classes of phase `iteration` (here the first 5 of
    # the order, with nb_cl = 5) with the phase-0 feature extractor.
    X_cumuls, Y_cumuls, class_means, alpha_dr_herding = bt.set_exemplar_set(
        model, None, True, 0, 0, order, alpha_dr_herding, prototypes)
    tg_feature_model = nn.Sequential(*list(model.children())[:-1])

    def feats(arr):
        bt.evalset.data = arr.astype("uint8")
        bt.evalset.targets = np.zeros(arr.shape[0])
        loader = torch.utils.data.DataLoader(bt.evalset, batch_size=128, shuffle=False, num_workers=0)
        return mods.compute_features.compute_features(bt.args, bt.fusion_vars, model, None, tg_feature_model,
                                                      True, loader, arr.shape[0], 64, device=torch.device("cpu"))
    idx = np.arange(HERDING_CLASSES * IMAGES_PER_CLASS)
    feat = feats(images[idx])
    feat_flip = feats(images[idx][:, :, :, ::-1])
    ranks = alpha_dr_herding[0, :, :HERDING_CLASSES].T.astype(np.int64)  # [class, sample]

    # Re-statement of the herding loop (cf. BaseTrainer.set_exemplar_set) to check the ranks.
    ranks2 = np.zeros_like(ranks)
    for c in range(HERDING_CLASSES):
        D = feat[c * IMAGES_PER_CLASS:(c + 1) * IMAGES_PER_CLASS].T
        D = D / np.linalg.norm(D, axis=0)
        mu = D.mean(axis=1)
        w = mu.copy()
        picked, it = 0, 0
        while picked < min(NB_PROTOS, 500) and it < 1000:
            k = int(np.argmax(w @ D))
            it += 1
            if ranks2[c, k] == 0:
                picked += 1
                ranks2[c, k] = picked
            w = w + mu - D[:, k]
    assert np.array_equal(ranks, ranks2), "herding re-statement differs"

    # Re-statement of the class means (exemplar mean with the RGB->BGR "flip").
    means2 = np.zeros((HERDING_CLASSES, 64))
    for c in range(HERDING_CLASSES):
        sl = slice(c * IMAGES_PER_CLASS, (c + 1) * IMAGES_PER_CLASS)
        D = feat[sl].T / np.linalg.norm(feat[sl].T, axis=0)
        D2 = feat_flip[sl].T / np.linalg.norm(feat_flip[sl].T, axis=0)
        sel = ((ranks[c] > 0) & (ranks[c] <= NB_PROTOS)).astype(np.float64)
        sel = sel / sel.sum()
        m = (D @ sel + D2 @ sel) / 2
        means2[c] = m / np.linalg.norm(m)
    means = class_means[:, order[:HERDING_CLASSES], 0].T
    means_ub = class_means[:, order[:HERDING_CLASSES], 1].T
    assert np.allclose(means, means2, rtol=0, atol=1e-12), "class-mean re-statement differs"

    # NME on the non-exemplar pool images of classes 0..4 (test transform).
    test_idx = np.array([c * IMAGES_PER_CLASS + j for c in range(HERDING_CLASSES)
                         for j in range(IMAGES_PER_CLASS) if not (0 < ranks[c, j] <= NB_PROTOS)])
    bt.evalset.data = images[test_idx]
    bt.evalset.targets = labels[test_idx]
    loader = torch.utils.data.DataLoader(bt.evalset, batch_size=128, shuffle=False, num_workers=0)
    current_means = class_means[:, order[range(0, HERDING_CLASSES)]]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        accs, _ = mods.compute_accuracy.compute_accuracy(bt.args, bt.fusion_vars, model, None, tg_feature_model,
                                                         current_means, X_cumuls, Y_cumuls, loader,
                                                         list(order), is_start_iteration=True,
                                                         device=torch.device("cpu"))
    test_feat = feats(images[test_idx])
    from scipy.spatial.distance import cdist
    sqd = cdist(current_means[:, :, 0].T, test_feat.astype(np.float32), "sqeuclidean").T  # [test, class]
    pred = sqd.argmin(1)
    nme_acc = 100.0 * float((pred == labels[test_idx]).sum()) / len(test_idx)
    assert abs(nme_acc - accs[1]) < 1e-9, (nme_acc, accs)
    s = np.sort(sqd, axis=1)
    return dict(feat=feat, feat_flip=feat_flip, ranks=ranks, means=means, means_ub=means_ub,
                test_idx=test_idx, test_feat=test_feat, sqd=sqd, pred=pred, accs=accs,
                min_gap=float((s[:, 1] - s[:, 0]).min()), X_cumuls=X_cumuls, log=out.getvalue())


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------
def add_suggested_tolerances(steps, quantities, ref="float64_run", factor=4.0):
    """steps[i]["suggested_atol"][q] = max(factor * (largest |float32 - float64| of q over
    steps 1..i), 2e-6 * max(1, |q_i|)): an absolute tolerance for comparing another
    float32 implementation with these float32 values (see README)."""
    env = {q: 0.0 for q in quantities}
    for st in steps:
        tol = {}
        for q in quantities:
            a = np.atleast_1d(np.asarray(st[q], np.float64))
            b = np.atleast_1d(np.asarray(st[ref][q], np.float64))
            env[q] = max(env[q], float(np.max(np.abs(a - b))))
            floor = 2e-6 * max(1.0, float(np.max(np.abs(a))))
            tol[q] = float("%.3g" % max(factor * env[q], floor))
        st["suggested_atol"] = tol


def check_alpha_arithmetic(R, baseline, lr, mom=0.9, wd=5e-4):
    """Checks, on the recorded numbers alone, the alpha-step rules a Swift test can
    replay without running a network: accumulation of alpha.grad (LUCIR: previous
    .grad + this batch's gradient; iCaRL: this batch's gradient only) and the SGD
    update in float32 (d = g + wd*a; buf = d, then 0.9*buf + d; a -= lr*buf).
    Returns the largest deviation (float32 arithmetic)."""
    f = np.float32
    prev_grad = np.array(R["train_steps"][-1]["alpha_grad_after"], f)
    alpha = np.array(R["train_steps"][-1]["alpha_after"], f)
    buf = None
    worst = 0.0
    for st in R["alpha_steps"]:
        gb = np.array(st["alpha_grad_batch"], f)
        g = (prev_grad + gb) if baseline == "lucir" else gb
        worst = max(worst, float(np.max(np.abs(g - np.array(st["alpha_grad_used"], f)))))
        g = np.array(st["alpha_grad_used"], f)
        d = g + f(wd) * alpha
        buf = d if buf is None else f(mom) * buf + d
        alpha = alpha - f(lr) * buf
        worst = max(worst, float(np.max(np.abs(alpha - np.array(st["alpha_after"], f)))))
        alpha = np.array(st["alpha_after"], f)
        prev_grad = g
    return worst


def max_abs_diff(a, b):
    """Largest |a - b| after rounding both to float32."""
    a = np.asarray(a, np.float32).astype(np.float64)
    b = np.asarray(b, np.float32).astype(np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aan-dir", required=True, help="the original's adaptive-aggregation-networks/ folder")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--fusion-lr", type=float, default=1e-3, help="learning rate of the alpha optimiser")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    def log(msg):
        if args.verbose:
            print(msg, file=sys.stderr)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    placeholders = install_import_placeholders(log)
    mods = import_original(args.aan_dir)
    hashes = sha256_of_dir_py(args.aan_dir)
    tmp = tempfile.mkdtemp(prefix="lockstep_")
    bt = make_base_trainer(mods, tmp, args.fusion_lr)

    images, labels = make_pool()
    save_file({"images": torch.from_numpy(images), "labels": torch.from_numpy(labels)},
              os.path.join(args.out, "pool.safetensors"))

    provenance = {
        "original": {"repository": ORIGINAL_REPO, "commit": ORIGINAL_COMMIT, "folder": ORIGINAL_FOLDER,
                     "sha256_of_files_imported": hashes},
        "torch": torch.__version__, "numpy": np.__version__, "torch_threads": torch.get_num_threads(),
        "device": "cpu", "dtype": "float32", "seeds": SEEDS,
        "import_placeholders": placeholders,
    }
    cross = {"description": "max |value from the original's trainer - value from this script's re-statement| "
                            "per quantity (the re-statements are the restated_* functions of generate.py). "
                            "Exact zeros mean bitwise-equal float32 results.",
             "provenance": provenance}

    # ---------------- Case 1 -----------------
    P0 = run_phase0(mods, bt, images, labels, log)
    save_file(P0["init_sd"], os.path.join(args.out, "phase0_init.safetensors"))
    save_file(P0["final_sd"], os.path.join(args.out, "phase0_final.safetensors"))
    x0, y0 = P0["batches"][0]
    tvcheck = torchvision_crosscheck(images, *[P0["metas"][0][k] for k in ("pool_indices", "crop_top", "crop_left", "flip")], x0)
    save_file({"images": x0.contiguous(), "labels": y0.contiguous(),
               "pool_indices": torch.tensor(P0["metas"][0]["pool_indices"], dtype=torch.int64),
               "logits_step1": P0["step1"]["logits"].contiguous(),
               "features_step1": P0["step1"]["features"].contiguous()},
              os.path.join(args.out, "phase0_batch0.safetensors"))
    losses, sigmas, rs_final, _ = restated_phase0(mods, P0["init_sd"], P0["batches"])
    cross["phase0"] = {
        "loss": max_abs_diff([s["loss"] for s in P0["steps"]], losses),
        "sigma_after": max_abs_diff([s["sigma_after"] for s in P0["steps"]], sigmas),
        "final_state_dict": max(float((P0["final_sd"][k].double() - rs_final[k].double()).abs().max())
                                for k in rs_final),
    }
    l64, s64, _, g64 = restated_phase0(mods, P0["init_sd"], P0["batches"], torch.float64)
    for st, a_, b_ in zip(P0["steps"], l64, s64):
        st["float64_run"] = {"loss": a_, "sigma_after": b_}
    add_suggested_tolerances(P0["steps"], ["loss", "sigma_after"])
    ex = P0["step1_extra"]
    t = {"grad." + k: v for k, v in ex["grad"].items()}
    t.update({"grad_f64." + k: g64[k] for k in P0["grad_keys"]})
    t.update({"momentum_buffer." + k: v for k, v in ex["momentum"].items()})
    t.update({"after." + k: v for k, v in ex["after"].items()})
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(args.out, "phase0_step1.safetensors"))
    grad_rel_err = {k: float((ex["grad"][k].double() - g64[k]).norm() / g64[k].norm()) for k in P0["grad_keys"]}
    all_rel = float(torch.cat([(ex["grad"][k].double() - g64[k]).reshape(-1) for k in P0["grad_keys"]]).norm() /
                    torch.cat([g64[k].reshape(-1) for k in P0["grad_keys"]]).norm())
    phase0_json = {
        "description": "Case 1, phase 0: the original's CIFAR resnet32 with CosineLinear(64, 10) on labels 0..9, "
                       "20 SGD steps of batch 32 run by trainer/zeroth_phase.py "
                       "incremental_train_and_eval_zeroth_phase (2 calls' worth: 2 epochs of 10 fixed batches).",
        "provenance": provenance,
        "files": {"init_state_dict": "phase0_init.safetensors", "final_state_dict": "phase0_final.safetensors",
                  "first_batch": "phase0_batch0.safetensors", "pool": "pool.safetensors"},
        "model": {"constructor": "models/modified_resnet_cifar.py resnet32(num_classes=10) via "
                                 "BaseTrainer.init_current_phase_model (phase 0)",
                  "init": "torch.manual_seed(%d) immediately before construction" % SEEDS["torch_init"]},
        "hyperparameters": {
            "batch_size": BATCH, "steps": PHASE0_STEPS, "momentum": 0.9, "weight_decay": 5e-4,
            "dampening": 0.0, "nesterov": False,
            "lr": "0.1 for steps 1-10, 0.01 for steps 11-20",
            "lr_scheduler": "MultiStepLR(milestones=[2, 3], gamma=0.1) built by BaseTrainer.set_optimizer and "
                            "stepped at the start of each epoch by the trainer; one epoch = 10 steps here",
            "loss": "CrossEntropyLoss (mean over the batch) on the sigma-scaled cosine logits",
            "mode": "train (BatchNorm uses batch statistics and updates running statistics)",
            "optimizer_param_order": [n for n, _ in P0["model"].named_parameters()],
        },
        "conventions": {
            "loss": "the loss of the step's batch, computed in the forward pass BEFORE that step's update",
            "sigma_after": "fc.sigma AFTER the step's optimizer.step()",
            "sigma_init": 1.0,
            "lr": "the learning rate used by that step",
            "correct": "number of batch samples whose argmax logit equals the label (same forward as the loss)",
            "crop": "crop_top/crop_left in [0, 8]: top-left corner of the 32x32 window in the 40x40 zero-padded image",
            "flip": "1 = mirror horizontally after the crop",
        },
        "steps": P0["steps"],
        "float64_run": "per step: the same 20 steps re-computed by this script in float64 (restated_phase0) from the "
                       "same float32 initial state and the same float32 input batches. Not the original's code; it "
                       "shows how far float32 rounding alone moves the trajectory",
        "suggested_atol": "per step and quantity: max(4 * largest |float32 - float64| up to this step, "
                          "2e-6 * max(1, |value|))",
        "step1_tensors": {
            "file": "phase0_step1.safetensors",
            "keys": "grad.<name>: p.grad of step 1 (before the update); grad_f64.<name>: the same gradient from the "
                    "float64 re-computation; momentum_buffer.<name>: SGD momentum buffer after step 1 (= grad + "
                    "5e-4 * p_init); after.<name>: state-dict tensor after step 1 (BatchNorm running statistics and "
                    "num_batches_tracked included)",
            "grad_names": P0["grad_keys"], "after_names": P0["after_keys"],
            "grad_relative_error_float32_vs_float64": grad_rel_err,
            "grad_relative_error_all": all_rel,
        },
    }
    write_json(os.path.join(args.out, "phase0.json"), phase0_json)

    # ---------------- Cases 2 and 3 -----------------
    exemplars = choose_exemplars()
    batches = build_phase1_batches(images, labels, exemplars)
    L = run_phase1(mods, bt, P0["model"], images, labels, exemplars, batches, "lucir", log)
    I = run_phase1(mods, bt, P0["model"], images, labels, exemplars, batches, "icarl", log)
    assert torch.equal(L["imprint"]["fc2"], I["imprint"]["fc2"])
    for k in ("logits", "features", "ref_logits", "ref_features", "cos_old", "cos_new"):
        assert torch.equal(L["step1"][k], I["step1"][k]), k
    assert L["ref_unchanged"] and I["ref_unchanged"]

    # Imprint features (aggregated features of the dual network, test transform) to check imprinting.
    S = setup_phase1(mods, bt, P0["model"], images, labels, exemplars)
    new_idx = np.arange(NB_CL_FG * IMAGES_PER_CLASS, NUM_CLASSES * IMAGES_PER_CLASS)
    with torch.no_grad():
        S["b1"].eval()
        S["b2"].eval()
        imp_feat = mods.process_fp.process_inputs_fp(bt.args, bt.fusion_vars, S["b1"], S["b2"],
                                                     make_test_batch(images, labels, new_idx)[0],
                                                     feature_mode=True)
    assert torch.equal(S["b1"].fc.fc2.weight, L["imprint"]["fc2"])
    save_file({"fc.fc2.weight": L["imprint"]["fc2"].contiguous(),
               "average_old_embedding_norm": L["imprint"]["avg_norm"].reshape(1).contiguous(),
               "features": imp_feat.contiguous(),
               "pool_indices": torch.from_numpy(new_idx.astype(np.int64))},
              os.path.join(args.out, "phase1_imprint.safetensors"))
    save_file({k: v.contiguous() for k, v in L["step1"].items()},
              os.path.join(args.out, "phase1_step1.safetensors"))

    b1_keys, b2_keys = select_final_keys(L["final"]["b1"], L["final"]["b2"])
    for tag, R in (("lucir", L), ("icarl", I)):
        t = {"b1." + k: R["final"]["b1"][k] for k in b1_keys}
        t.update({"b2." + k: R["final"]["b2"][k] for k in b2_keys})
        t["fusion_vars"] = torch.cat(R["final"]["alpha"]).contiguous()
        save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(args.out, "%s_manets_final.safetensors" % tag))
        rs = restated_phase1(mods, P0["final_sd"], L["imprint"]["fc2"], batches, tag, args.fusion_lr)
        c = {}
        for q in (["loss_ce", "loss_lf", "loss_mr", "loss_total", "sigma_after"] if tag == "lucir"
                  else ["loss_ce", "loss_kd", "loss_total", "sigma_after"]):
            c["train." + q] = max_abs_diff([s[q] for s in R["train_steps"]], [s[q] for s in rs["train"]])
        c["train.alpha_grad_after"] = max_abs_diff(sum((s["alpha_grad_after"] for s in R["train_steps"]), []),
                                                   sum((s["alpha_grad_after"] for s in rs["train"]), []))
        for q in ("loss_ce", "alpha_after", "alpha_grad_used"):
            a_ = [s[q] for s in R["alpha_steps"]]
            b_ = [s[q] for s in rs["alpha"]]
            if isinstance(a_[0], list):
                a_, b_ = sum(a_, []), sum(b_, [])
            c["alpha." + q] = max_abs_diff(a_, b_)
        c["final_b1_state_dict"] = max(float((R["final"]["b1"][k].double() - rs["final_b1"][k].double()).abs().max())
                                       for k in rs["final_b1"])
        c["final_b2_state_dict"] = max(float((R["final"]["b2"][k].double() - rs["final_b2"][k].double()).abs().max())
                                       for k in rs["final_b2"])
        c["alpha_step_arithmetic_from_recorded_values"] = check_alpha_arithmetic(R, tag, args.fusion_lr)
        cross[tag] = c
        r64 = restated_phase1(mods, P0["final_sd"], L["imprint"]["fc2"], batches, tag, args.fusion_lr,
                              torch.float64)
        for st, v in zip(R["train_steps"], r64["train"]):
            st["float64_run"] = v
        for st, v in zip(R["alpha_steps"], r64["alpha"]):
            st["float64_run"] = v
        add_suggested_tolerances(R["train_steps"], ["loss_ce", "loss_total", "sigma_after", "alpha_grad_after"] +
                                 (["loss_lf", "loss_mr"] if tag == "lucir" else ["loss_kd"]))
        add_suggested_tolerances(R["alpha_steps"], ["loss_ce", "alpha_after", "alpha_grad_used"])
        write_json(os.path.join(args.out, "%s_manets.json" % tag),
                   phase1_json(tag, R, provenance, bt, exemplars, b1_keys, b2_keys, args.fusion_lr))

    # ---------------- Case 4 -----------------
    H = run_herding(mods, bt, P0["model"], images, labels)
    order_sel = np.stack([np.argsort(np.where(H["ranks"][c] > 0, H["ranks"][c], 10 ** 6))[:NB_PROTOS]
                          for c in range(HERDING_CLASSES)])
    save_file({
        "features": npt(H["feat"].astype(np.float32)),
        "features_bgr": npt(H["feat_flip"].astype(np.float32)),
        "labels": npt(labels[:HERDING_CLASSES * IMAGES_PER_CLASS].copy()),
        "pool_indices": torch.arange(HERDING_CLASSES * IMAGES_PER_CLASS, dtype=torch.int64),
        "ranks": npt(np.ascontiguousarray(H["ranks"])),
        "selection_order": npt((order_sel + np.arange(HERDING_CLASSES)[:, None] * IMAGES_PER_CLASS).astype(np.int64)),
        "class_means": npt(H["means"].astype(np.float32)),
        "class_means_f64": npt(H["means"].copy()),
        "class_means_all_f64": npt(H["means_ub"].copy()),
        "test_pool_indices": npt(H["test_idx"].astype(np.int64)),
        "test_labels": npt(labels[H["test_idx"]].copy()),
        "test_features": npt(H["test_feat"].astype(np.float32)),
        "nme_sqdist_f64": npt(H["sqd"].copy()),
        "nme_sqdist": npt(H["sqd"].astype(np.float32)),
        "nme_pred": npt(H["pred"].astype(np.int64)),
    }, os.path.join(args.out, "herding.safetensors"))
    write_json(os.path.join(args.out, "herding.json"), herding_json(H, provenance, order_sel))
    write_json(os.path.join(args.out, "crosscheck.json"), cross)
    json.dump(cross, sys.stdout, indent=1)
    print()
    print(tvcheck)


def select_final_keys(b1_sd, b2_sd):
    blocks = ("conv1.", "layer1.0.", "layer2.0.", "layer3.0.", "layer3.4.")
    b1_keys = [k for k in b1_sd if k.endswith("mtl_weight") and k.startswith(blocks)]
    b1_keys += bn_names(b1_sd)
    b1_keys += ["fc.sigma", "fc.fc2.weight"]
    b2_keys = ["conv1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "layer3.4.conv2.weight"]
    b2_keys += bn_names(b2_sd)
    seen = set()
    b1_keys = [k for k in b1_keys if not (k in seen or seen.add(k))]
    seen = set()
    b2_keys = [k for k in b2_keys if not (k in seen or seen.add(k))]
    return b1_keys, b2_keys


def phase1_json(tag, R, provenance, bt, exemplars, b1_keys, b2_keys, fusion_lr):
    lucir = tag == "lucir"
    info = R["init_info"]
    d = {
        "description": ("Case 2, LUCIR on MANets, phase 1" if lucir else "Case 3, iCaRL on MANets, phase 1") +
        ": from phase0_final.safetensors, 5 new classes (labels 10..14), dual branch (b1 = ss / mtl ResNet-32 "
        "with frozen theta, b2 = free plain ResNet-32), 10 training steps then 5 aggregation-weight (alpha) "
        "steps, run by the original's " +
        ("trainer/incremental_lucir.py" if lucir else "trainer/incremental_icarl.py") +
        " incremental_train_and_eval (one epoch: the 10 training batches, then the 5 balanced batches).",
        "provenance": provenance,
        "files": {"start_state": "phase0_final.safetensors (both branches and the reference model load it)",
                  "imprint": "phase1_imprint.safetensors",
                  "step1_forward": "phase1_step1.safetensors",
                  "final": "%s_manets_final.safetensors" % tag, "pool": "pool.safetensors"},
        "setup": {
            "calls": "BaseTrainer.init_fusion_vars, init_current_phase_model(iteration=2, start_iter=1), "
                     "imprint_weights, set_optimizer (trainer/base_trainer.py), as trainer/trainer.py does for phase 1",
            "args": {"branch_mode": "dual", "branch_1": "ss", "branch_2": "free", "nb_cl_fg": NB_CL_FG,
                     "nb_cl": NB_CL, "base_lr2": 0.1, "custom_weight_decay": 5e-4, "custom_momentum": 0.9,
                     "fusion_lr": fusion_lr},
            "b1": "resnetmtl32(num_classes=10) with the phase-0 state dict loaded (conv weights frozen: "
                  "requires_grad False; every mtl_weight = 1); its fc replaced by SplitCosineLinear(64, 10, 5) "
                  "with fc1.weight = phase-0 fc.weight, sigma = phase-0 fc.sigma, fc2.weight imprinted",
            "b2": "resnet32(num_classes=10) with the phase-0 state dict loaded; its own fc (CosineLinear(64,10)) "
                  "is never used and gets no gradient",
            "reference_model": "deep copy of the phase-0 network, put in eval mode by the trainer; not in any "
                               "optimizer; unchanged at the end (checked)",
            "alpha_init": [f32(v) for v in info["alpha_init"]],
            "ref_fusion_vars": "deep copy of alpha at the start of the phase (unused in phase 1)",
            "sigma_init": f32(info["sigma_init"]),
            "exemplars": {"description": "old-class pool images that play the exemplar set (8 per old class, "
                                         "chosen with numpy RandomState(%d))" % SEEDS["exemplars"],
                          "pool_indices_by_class": {str(c): exemplars[c] for c in range(NB_CL_FG)}},
            "imprinting": "BaseTrainer.imprint_weights: for each new class c, aggregated features (process_inputs_fp "
                          "with alpha = 0.5, both branches in eval mode) of its 20 pool images under the test "
                          "transform; L2-normalise each (float64), mean, L2-normalise, times the mean L2 norm of "
                          "the rows of fc1.weight (float64); stored as float32 in fc.fc2.weight",
            "optimizer_groups": info["groups"],
            "optimizer_note": "torch.optim.SGD(groups, lr=0.1, momentum=0.9, weight_decay=5e-4); group 0 = b1's "
                              "parameters except fc.fc1 and except frozen (requires_grad False) tensors, group 1 = "
                              "all of b2's parameters, group 2 = fc.fc1 (lr 0, wd 0)",
            "b1_frozen_parameters": info["b1_requires_grad_false"],
            "fusion_optimizer": info["fusion_groups"],
            "lr_schedulers": "MultiStepLR(milestones=[2, 3], gamma=0.1) for both optimizers, stepped once at the "
                             "start of the epoch: the learning rates do not change here",
        },
        "hyperparameters": {"batch_size": BATCH, "balanced_batch_size": BALANCED_BATCH,
                            "training_steps": PHASE1_STEPS, "alpha_steps": ALPHA_STEPS},
    }
    if lucir:
        d["hyperparameters"].update({
            "the_lambda_base": 5.0, "lambda_mult": info["lambda_mult"], "cur_lambda": info["cur_lambda"],
            "cur_lambda_formula": "the_lambda * sqrt(10 / 5) (float64 in Python; the float32 loss tensor is "
                                  "multiplied by it, i.e. by float32(cur_lambda) = %r)" % f32(info["cur_lambda"]),
            "K": 2, "dist": 0.5, "lw_mr": 1.0})
        d["losses"] = {
            "loss_lf_raw": "nn.CosineEmbeddingLoss()(cur_features, ref_features.detach(), ones) = mean_b(1 - cos_b), "
                           "cos_b = <f_b, g_b> / sqrt((|f_b|^2 + 1e-12)(|g_b|^2 + 1e-12)); f = aggregated 64-d input "
                           "of b1.fc, g = input of the reference model's fc",
            "loss_lf": "loss_lf_raw * cur_lambda",
            "loss_ce": "nn.CrossEntropyLoss() on the sigma-scaled logits over all 15 classes",
            "loss_mr_raw": "nn.MarginRankingLoss(margin=0.5)(gt, neg, ones) over the old-class samples of the batch: "
                           "scores = UNSCALED cosines [fc1 | fc2]; gt = the sample's cosine for its own label, "
                           "neg = its top-K (K=2) cosines among the new classes 10..14; mean over the n_old*K pairs of "
                           "max(0, 0.5 - (gt - neg)). When the batch has no old-class sample it is torch.zeros(1). The trainer passes "
                           "x1, x2 of shape [P, 1] and a target of shape [P] (P = n_old*K); PyTorch 1.2 broadcast "
                           "this to [P, P] and averaged over P*P elements (same value as the mean over the P pairs, "
                           "up to float32 rounding); torch >= 1.11 rejects the call in torch.nn.functional, so the "
                           "generator evaluates it with the ATen operator torch.margin_ranking_loss, which broadcasts "
                           "the same way (mr_broadcast_elements = P*P)",
            "loss_mr": "loss_mr_raw * lw_mr",
            "loss_total": "(loss_lf + loss_ce) + loss_mr, float32, the tensor on which backward() is called",
        }
    else:
        d["hyperparameters"].update({"T": 2, "beta": 0.25, "num_old_classes": NB_CL_FG})
        d["losses"] = {
            "loss_kd_raw": "nn.KLDivLoss()(log_softmax(logits[:, :10] / T), softmax(ref_logits.detach() / T)) with the "
                           "default reduction 'mean' = sum over all B*10 elements of p*(log p - log q), divided by "
                           "B*10 (torch 2.13 still does this, with a deprecation warning; PyTorch 1.2's 'mean' is "
                           "the same element-wise mean, so the value is the same); ref_logits = the frozen phase-0 "
                           "network's sigma-scaled cosine logits (eval mode)",
            "loss_kd": "loss_kd_raw * T * T * beta * 10, multiplied left to right in float32 (= float32(raw*10) since "
                       "*2, *2, *0.25 are exact)",
            "loss_ce": "nn.CrossEntropyLoss() on the sigma-scaled logits over all 15 classes",
            "loss_total": "loss_kd + loss_ce, float32, the tensor on which backward() is called",
        }
    d["conventions"] = {
        "training_step": "tg_optimizer.zero_grad() (network groups only: alpha's grad is NOT zeroed), forward through "
                         "process_inputs_fp with the current alpha, both branches in train mode, losses, backward, "
                         "tg_optimizer.step(); alpha is not stepped in training steps",
        "alpha_step": ("both branches in eval mode; forward with the current alpha, CE on the sigma-scaled logits over all "
                       "15 classes, backward, fusion_optimizer.step(). alpha.grad is NEVER zeroed (LUCIR trainer): it "
                       "holds the sum of the gradients of all 10 training batches and of every balanced batch so far"
                       if lucir else
                       "fusion_optimizer.zero_grad() before each balanced batch (in torch 2.13 this sets alpha.grad to "
                       "None), then: both branches in eval mode, forward with the current alpha, CE on the sigma-scaled "
                       "logits over all 15 classes, backward, fusion_optimizer.step(). The training batches' alpha "
                       "gradients (accumulated, never used) are discarded by the first zero_grad"),
        "loss_*": "value for the step's batch, computed BEFORE that step's update",
        "sigma_after / alpha_after": "values AFTER the step",
        "alpha_grad_batch": "the gradient of this batch's loss with respect to alpha (a tensor hook: this backward's "
                            "contribution only)",
        "alpha_grad_after": "alpha.grad after the step's backward (and after its optimizer step, which in torch 2.13 "
                            "leaves .grad unchanged)",
        "alpha_grad_used": "alpha.grad at the fusion optimizer step (what SGD read)",
        "sgd_update_torch_2_13": "d = grad + wd*p (out of place); buf = d on the first step, else buf = 0.9*buf + d; "
                                 "p = p - lr*buf",
        "alpha_step1_gradient": "exactly 0 in training step 1: b1 and b2 are the same function at the start (mtl_weight "
                                "= 1), so every level's b1 output minus b2 output is 0",
        "correct": "number of batch samples whose argmax logit equals the label",
        "float64_run": "per step: the same steps re-computed by this script (restated_phase1) in float64 from the same "
                       "float32 start state (phase0_final, imprinted fc2) and the same float32 batches; not the "
                       "original's code; shows how far float32 rounding alone moves the trajectory",
        "suggested_atol": "per step and quantity: max(4 * largest |float32 - float64| up to this step (within the "
                          "training steps, resp. within the alpha steps), 2e-6 * max(1, |value|))",
        "crop / flip": "as in phase0.json; balanced batches use the training augmentation too (the original's "
                       "balanced set has the train transform)",
        "batches": "training batches mix new-class pool images and exemplars (step 6 has no old-class sample); "
                   "balanced batches: 2 images of each new class (class order), then 1 exemplar of each old class "
                   "(class order), no shuffling",
    }
    d["training_steps"] = R["train_steps"]
    d["alpha_steps"] = R["alpha_steps"]
    if lucir:
        d["alpha_steps_torch12_sgd"] = {
            "description": "The same 5 alpha steps replayed from the state after training step 10, with PyTorch 1.2's "
                           "SGD, which added weight decay to p.grad IN PLACE (d_p = p.grad.data; d_p.add_(wd, p.data)). "
                           "With the never-zeroed LUCIR alpha gradient the decay terms then stay in alpha.grad "
                           "(grad_k = grad_{k-1} + g_k + wd*alpha_{k-1}). Re-stated by this script, not the original's "
                           "code; for a 'PyTorch 1.2' faithful mode only. The main alpha_steps above are torch 2.13's.",
            "steps": R["torch12"],
        }
    d["final_tensors"] = {
        "file": "%s_manets_final.safetensors" % tag,
        "keys": "b1.<name> and b2.<name> in the original's state-dict names, plus fusion_vars [3] (alpha after the "
                "5 alpha steps); all taken after the 5 alpha steps (the networks do not change during alpha steps)",
        "b1_keys": b1_keys, "b2_keys": b2_keys,
        "not_stored": "b1 conv weights (frozen: equal to phase0_final's), b1 fc.fc1.weight (lr 0: equal to phase0_final "
                      "fc.weight), the other mtl_weight tensors and b2 conv weights (size budget), b2's unused fc",
    }
    return d


def herding_json(H, provenance, order_sel):
    return {
        "description": "Case 4: herding, class means and NME with the phase-0 final network (eval mode) on pool "
                       "classes 0..4, by BaseTrainer.set_exemplar_set (dynamic budget, nb_protos = 8, nb_cl = 5, "
                       "iteration 0) and utils/incremental/compute_accuracy.py compute_accuracy",
        "provenance": provenance,
        "file": "herding.safetensors",
        "tensors": {
            "features": "float32 [100, 64]: 64-d outputs of the network without fc (conv1..avgpool, flattened) for pool "
                        "images 0..99 (classes 0..4, 20 each, pool order), test transform (ToTensor + Normalize)",
            "features_bgr": "float32 [100, 64]: the same for the 'flipped' images of the original: the N x H x W x C uint8 "
                            "array reversed along its LAST axis, i.e. RGB -> BGR (not a mirror)",
            "labels": "int64 [100]", "pool_indices": "int64 [100]",
            "ranks": "int64 [5, 20]: ranks[c, j] = herding rank (1 = first picked) of image j of class c "
                     "(pool index 20*c + j); 0 = never picked",
            "selection_order": "int64 [5, 8]: pool indices in the order herding picked them",
            "class_means": "float32 [5, 64] (rounded from class_means_f64)",
            "class_means_f64": "float64 [5, 64]: normalize((mean_j D[:, j] + mean_j D2[:, j]) / 2) over the 8 exemplars, "
                               "D = L2-normalised features, D2 = L2-normalised features_bgr (columns), float64 as the "
                               "original computes it",
            "class_means_all_f64": "float64 [5, 64]: the same over all 20 images of the class (the original's "
                                   "'Proto-UB' means, class_means[:, :, 1])",
            "test_pool_indices": "int64 [60]: the pool images of classes 0..4 that are not exemplars",
            "test_labels": "int64 [60]", "test_features": "float32 [60, 64]",
            "nme_sqdist_f64": "float64 [60, 5]: squared Euclidean distance of each (unnormalised) test feature to each "
                              "class mean (scipy cdist 'sqeuclidean' as compute_accuracy uses it)",
            "nme_sqdist": "float32 [60, 5] (rounded)",
            "nme_pred": "int64 [60]: argmin over the classes of nme_sqdist_f64",
        },
        "herding": "per class: D = features^T (64 x 20), each column divided by its L2 norm (float64); mu = mean column; "
                   "w = mu; repeat while (number ranked) < min(8, 500) and iterations < 1000: k = argmax_j w.D[:, j] "
                   "(first index on ties); iterations += 1; if k has no rank give it rank (number ranked + 1); "
                   "w = w + mu - D[:, k] (also when k was already ranked)",
        "ranks_by_class": H["ranks"].tolist(),
        "selection_order_by_class": (order_sel + np.arange(HERDING_CLASSES)[:, None] * IMAGES_PER_CLASS).tolist(),
        "nme_predictions": H["pred"].tolist(),
        "test_labels": [int(c) for c in (H["test_idx"] // IMAGES_PER_CLASS)],
        "accuracy_percent": {"cnn_over_10_classes": H["accs"][0], "nme": H["accs"][1], "nme_all_images_means": H["accs"][2]},
        "accuracy_note": "from the original's compute_accuracy on the 60 test images (CNN = argmax of the 10-class "
                         "sigma-cosine logits; NME = argmin distance to class_means; the third uses class_means_all)",
        "min_gap_between_best_and_second_sqdist": H["min_gap"],
    }


if __name__ == "__main__":
    main()
