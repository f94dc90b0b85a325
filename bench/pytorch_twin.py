#!/usr/bin/python3
"""PyTorch (CPU, float32) twin of RAGAN.ts's networks, to time tfjs against PyTorch side by side.

Mirrors packages/core/src (models/generator.ts, discriminator.ts, age-classifier.ts, layers/, ops/,
losses/, training/gan-trainer.ts + adam.ts) for the presets tiny, small and paper, with the same
layers, weight shapes (hence the same parameter counts), initialisation and op sequence:

- generator: k×k stem + lrelu → F0; Fface = F0·m, Fbg = F0·(1−m); encoder = stride-2 pre-activation
  residual blocks (pixel norm, lrelu 0.2, skip = 1×1 conv of a 2×2 average) + identity blocks;
  age modulator = (3×3 s2 conv, CBN on the target group, lrelu) × nAmDown, global average, dense to
  styleDim; decoder = modulated residual blocks + (nearest ×2, modulated 3×3 conv, lrelu) blocks, the
  modulated conv non-fused exactly as ops/modulated-conv2d.ts (scale the input by s, shared-kernel
  conv, scale the output by d = rsqrt(s² @ Σ_kk w² + 1e-8), then the bias); Fout = Fdec·m + Fbg·(1−m);
  1×1 conv to RGB + tanh;
- discriminator: 1×1 fromRGB + lrelu, residual down blocks to 4×4, minibatch stddev (group 4),
  4×4 valid conv + lrelu, dense to K = 10 logits;
- age classifier: 3×3 stem, 3×3 s2 convs to 4×4 (lrelu), global average, dense to K.

Differences that are layout only: PyTorch is NCHW by default (tfjs NHWC; pass --nhwc for
torch.channels_last), kernels are stored [out, in, kh, kw] / dense [out, in] (tfjs [kh, kw, in, out] /
[in, out]: same sizes); nearest ×2 and 2×2 average use F.interpolate / F.avg_pool2d (tfjs builds them
from concat/reshape/mean for second-order gradients: same values).

usage: /usr/bin/python3 bench/pytorch_twin.py THREADS [--quick] [--nhwc] [--reps N] [--warmup N]
           [params] [conv] [gen:PRESET:BATCH ...] [gan:PRESET:BATCH ...]
  params           parameter counts per network and preset (no timing); with --tfjs-shapes FILE also
                   compares every weight's name and (tfjs-layout) shape with a dump from the tfjs models
  conv             3×3 conv 128→128 at 64×64, batch 1: forward, input gradient, filter gradient (GFLOP/s)
  gen:PRESET:B     generator forward (inference: CBN on moving statistics, no autograd), B images
  gan:PRESET:B     one training iteration as GanTrainer.trainStep with r1Every = 1 (R1 every step, as
                   packages/core/bench/core-bench.ts): D step (non-saturating loss on D_y(x) and
                   D_y'(x'), R1 gamma 10 on reals, one D pass on the reals for both), G step
                   (adversarial, age cross-entropy through the frozen classifier, reconstruction L1 ×10,
                   cycle L1 ×10, identity-feature L1 ×1; the encoder half of G runs once on x and once
                   on x', as in GanTrainer), Adam
                   (betas (0, 0.99), eps 1e-8, lr 1e-3, style-path dense layers ×0.01) on D and G, CBN
                   moving statistics, EMA of G (0.999)
  serve            (alone) paired timing for bench/paired.ts: one request per stdin line (conv OP,
                   gen PRESET B, gan PRESET B), each run once, answered with one JSON line {"ms": ...}
  --quick          1 warm-up + 2 runs for everything (smoke tests); env RAGAN_TWIN_QUICK=1 does the same
  --out FILE       also write every result (and the info line's fields) as one JSON document, atomically
Prints one JSON line per measurement (field names as bench/results/core.json: bench, preset, shape,
batch, threads, medianMs, ...); times are medians in ms of several runs after warm-ups (defaults:
conv 10 after 2, gen 5 after 2, gan 4 after 1). Needs Debian's python3-torch; run with /usr/bin/python3.
Threads: torch.set_num_threads(THREADS) (intra-op).

BLAS caveat: Debian's python3-torch is built with BLAS_INFO=generic and links libblas.so.3, which on
this machine is the unoptimised reference (netlib) BLAS. PyTorch sends a conv to oneDNN (mkldnn)
only when its heuristic says so; the others (batch 1 with 3×3 kernels and < 20480 input elements,
1×1 convs on one thread) take the im2col + BLAS path, and every matmul also uses BLAS: they are then
several times slower than with an optimised BLAS. Every line reports the BLAS actually loaded ("blas").
For an optimised BLAS in this process only: install libopenblas0-pthread and run with
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread (installing it also switches the system's
libblas.so.3 alternative).

The tfjs side of the parameter check (from the repository root):
  npx tsx --conditions=@ragan/source x.ts   with x.ts =
  import { createRagan } from './packages/core/src/index.ts';
  const m = createRagan('small');
  for (const k of ['generator', 'discriminator', 'classifier'] as const)
    console.log(k, m[k].weights().reduce((n, w) => n + w.variable.size, 0));
"""
import copy, json, math, os, platform, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

SQRT2, SQRT1_2 = math.sqrt(2), math.sqrt(0.5)
NUM_GROUPS = 10                    # ageGroups 'ffhq-aging-10'
STYLE_LR_MULTIPLIER = 0.01
MBSTD_GROUP_SIZE = 4
_BASE = dict(styleDim=256, leakySlope=0.2, stemKernel=7)
PRESETS = {   # packages/core/src/config/presets.ts
    'paper': dict(_BASE, resolution=256, c0=64, cMax=256, nDown=2, nIdBlocks=4, nAmDown=3, nDecBlocks=4, dC0=64, clsC0=32),
    'small': dict(_BASE, resolution=128, c0=32, cMax=128, nDown=2, nIdBlocks=2, nAmDown=3, nDecBlocks=2, dC0=32, clsC0=16),
    'tiny': dict(_BASE, resolution=64, c0=16, cMax=64, nDown=2, nIdBlocks=1, nAmDown=2, nDecBlocks=1, dC0=16, clsC0=8),
}
MEMORY_FORMAT = torch.contiguous_format


def doubling_channels(c0, c_max, levels):         # models/channels.ts
    return [min(c0 * 2 ** i, c_max) for i in range(levels + 1)]


def levels_to_4x4(resolution):
    return round(math.log2(resolution / 4))


def lrelu(x, slope=0.2):
    return F.leaky_relu(x, slope)


def pixel_norm(x, eps=1e-8):                       # ops/normalization.ts, over channels
    return x * torch.rsqrt(x.square().mean(1, keepdim=True) + eps)


def downsample_avg2x(x):                           # ops/resample.ts downsampleAvg2x
    return F.avg_pool2d(x, 2)


def upsample_nearest2x(x):                         # ops/resample.ts upsampleNearest2x
    return F.interpolate(x, scale_factor=2, mode='nearest')


def global_avg_pool(x):
    return x.mean([2, 3])


def minibatch_stddev(x, group_size=MBSTD_GROUP_SIZE, eps=1e-8):   # ops/minibatch-stddev.ts
    n, c, h, w = x.shape
    g = max(1, min(group_size, n))
    while n % g: g -= 1                            # largest divisor of n not above group_size
    m = n // g
    y = x.reshape(g, m, c * h * w)                 # sample n is in group column n mod m
    centred = y - y.mean(0, keepdim=True)
    std = torch.sqrt(centred.square().mean(0) + eps)           # [m, CHW]
    per_group = std.mean(1)                                    # [m]
    per_sample = per_group if g == 1 else per_group.repeat(g)  # [n]
    channel = per_sample.reshape(n, 1, 1, 1) * torch.ones(1, 1, h, w)
    return torch.cat([x, channel.contiguous(memory_format=MEMORY_FORMAT)], 1)


# ---------------------------------------------------------------- layers (packages/core/src/layers)

class Conv2D(nn.Module):
    """layers/conv2d.ts: He-normal kernel (std gain/sqrt(k·k·in)), bias 0. padding 'same' (stride 1, odd k),
    'valid' or a symmetric pixel count (the stride-2 convs use 1)."""
    def __init__(self, ci, co, k=3, stride=1, padding='same', bias=True, gain=SQRT2, lr_mult=1.0):
        super().__init__()
        if padding == 'same':
            assert stride == 1 and k % 2 == 1, "'same' is only used with stride 1 and odd kernels"
            padding = k // 2
        elif padding == 'valid':
            padding = 0
        self.stride, self.padding = stride, padding
        self.kernel = nn.Parameter(torch.randn(co, ci, k, k) * (gain / math.sqrt(k * k * ci)))
        self.bias = nn.Parameter(torch.zeros(co)) if bias else None
        for p in self.parameters(recurse=False): p.lr_mult = lr_mult

    def forward(self, x):
        return F.conv2d(x, self.kernel, self.bias, self.stride, self.padding)


class Dense(nn.Module):
    """layers/dense.ts: He-normal kernel (std gain/sqrt(in)), bias biasInit."""
    def __init__(self, ci, co, bias_init=0.0, gain=SQRT2, lr_mult=1.0):
        super().__init__()
        self.kernel = nn.Parameter(torch.randn(co, ci) * (gain / math.sqrt(ci)))
        self.bias = nn.Parameter(torch.full((co,), float(bias_init)))
        for p in self.parameters(recurse=False): p.lr_mult = lr_mult

    def forward(self, x):
        return F.linear(x, self.kernel, self.bias)


class ConditionalBatchNorm(nn.Module):
    """layers/conditional-batch-norm.ts + ops/normalization.ts: batch norm without affine, then per-sample
    gamma = t @ gamma[K, C] (init 1), beta = t @ beta[K, C] (init 0). Training mode normalises with the
    batch moments and accumulates them; update_moving_stats() folds their average in (momentum 0.99)."""
    def __init__(self, c, k, eps=1e-5, momentum=0.99):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.gamma = nn.Parameter(torch.ones(k, c))
        self.beta = nn.Parameter(torch.zeros(k, c))
        self.register_buffer('moving_mean', torch.zeros(c))
        self.register_buffer('moving_variance', torch.ones(c))
        self._sum_mean = self._sum_var = None; self._count = 0

    def forward(self, x, t, training=False):
        n, c = x.shape[:2]
        if training:
            var, mean = torch.var_mean(x, [0, 2, 3], unbiased=False)
            with torch.no_grad():
                self._sum_mean = mean.detach().clone() if self._sum_mean is None else self._sum_mean + mean
                self._sum_var = var.detach().clone() if self._sum_var is None else self._sum_var + var
                self._count += 1
        else:
            mean, var = self.moving_mean, self.moving_variance
        normalised = (x - mean.reshape(1, c, 1, 1)) * torch.rsqrt(var + self.eps).reshape(1, c, 1, 1)
        return normalised * (t @ self.gamma).reshape(n, c, 1, 1) + (t @ self.beta).reshape(n, c, 1, 1)

    def clear_batch_stats(self):
        self._sum_mean = self._sum_var = None; self._count = 0

    @torch.no_grad()
    def update_moving_stats(self):
        if not self._count: return
        m = self.momentum
        self.moving_mean.mul_(m).add_(self._sum_mean / self._count, alpha=1 - m)
        self.moving_variance.mul_(m).add_(self._sum_var / self._count, alpha=1 - m)
        self._sum_mean = self._sum_var = None; self._count = 0


class ModulatedConv2D(nn.Module):
    """layers/modulated-conv2d.ts + ops/modulated-conv2d.ts, non-fused: s = A(style) (dense, bias 1, gain 1,
    lr ×0.01); y = conv(x·s, w); y·d with d = rsqrt(s² @ Σ_{kh,kw} w² + eps); + bias."""
    def __init__(self, ci, co, style_dim, k=3, eps=1e-8):
        super().__init__()
        self.eps, self.padding = eps, k // 2
        self.kernel = nn.Parameter(torch.randn(co, ci, k, k) * (SQRT2 / math.sqrt(k * k * ci)))
        self.bias = nn.Parameter(torch.zeros(co))
        self.affine = Dense(style_dim, ci, bias_init=1.0, gain=1.0, lr_mult=STYLE_LR_MULTIPLIER)

    def forward(self, x, style):
        n, ci = x.shape[:2]
        s = self.affine(style)                                       # [N, Cin]
        y = F.conv2d(x * s.reshape(n, ci, 1, 1), self.kernel, None, 1, self.padding)
        w2 = self.kernel.square().sum([2, 3])                        # [Cout, Cin]
        d = torch.rsqrt(s.square() @ w2.t() + self.eps)              # [N, Cout]
        return y * d.reshape(n, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)


class ResBlock(nn.Module):
    """layers/res-block.ts: h = conv2(lrelu(pn(conv1(lrelu(pn(x)))))), out = (skip(x) + h)/√2."""
    def __init__(self, ci, co, down=False, slope=0.2):
        super().__init__()
        self.down, self.slope = down, slope
        self.conv1 = Conv2D(ci, co, 3, 2 if down else 1, padding=1)
        self.conv2 = Conv2D(co, co, 3, padding=1)
        self.skip = Conv2D(ci, co, 1, bias=False, gain=1.0) if down or ci != co else None

    def forward(self, x):
        h = self.conv1(lrelu(pixel_norm(x), self.slope))
        h = self.conv2(lrelu(pixel_norm(h), self.slope))
        s = self.skip(downsample_avg2x(x) if self.down else x) if self.skip is not None else x
        return (s + h) * SQRT1_2


class ModulatedResBlock(nn.Module):
    """layers/modulated-res-block.ts: h = mconv2(lrelu(mconv1(lrelu(x), w)), w), out = (skip(x) + h)/√2."""
    def __init__(self, ci, co, style_dim, slope=0.2):
        super().__init__()
        self.slope = slope
        self.conv1 = ModulatedConv2D(ci, co, style_dim)
        self.conv2 = ModulatedConv2D(co, co, style_dim)
        self.skip = Conv2D(ci, co, 1, bias=False, gain=1.0) if ci != co else None

    def forward(self, x, style):
        h = self.conv1(lrelu(x, self.slope), style)
        h = self.conv2(lrelu(h, self.slope), style)
        return ((self.skip(x) if self.skip is not None else x) + h) * SQRT1_2


class ModulatedUpBlock(nn.Module):
    """out = lrelu(mconv(nearest×2(x), w))."""
    def __init__(self, ci, co, style_dim, slope=0.2):
        super().__init__()
        self.slope = slope
        self.conv = ModulatedConv2D(ci, co, style_dim)

    def forward(self, x, style):
        return lrelu(self.conv(upsample_nearest2x(x), style), self.slope)


class DiscriminatorBlock(nn.Module):
    """layers/discriminator-block.ts: h = lrelu(conv2_s2(lrelu(conv1(x)))), skip = 1×1(avg2×2(x)), (skip + h)/√2."""
    def __init__(self, ci, co, slope=0.2):
        super().__init__()
        self.slope = slope
        self.conv1 = Conv2D(ci, ci, 3, padding=1)
        self.conv2 = Conv2D(ci, co, 3, 2, padding=1)
        self.skip = Conv2D(ci, co, 1, bias=False, gain=1.0)

    def forward(self, x):
        h = lrelu(self.conv2(lrelu(self.conv1(x), self.slope)), self.slope)
        return (self.skip(downsample_avg2x(x)) + h) * SQRT1_2


class Seq(nn.Module):
    """Children registered under tfjs names (down0, id0, res0, ...) and kept in call order."""
    def __init__(self, named):
        super().__init__()
        for name, m in named: self.add_module(name, m)

    def __iter__(self):
        return iter(self._modules.values())


# ---------------------------------------------------------------- models (packages/core/src/models)

class IdentityEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, self.slope = doubling_channels(cfg['c0'], cfg['cMax'], cfg['nDown']), cfg['leakySlope']
        self.stem = Conv2D(3, cfg['c0'], cfg['stemKernel'], padding='same')
        cb = ch[cfg['nDown']]
        self.blocks = Seq([(f'down{i}', ResBlock(ch[i], ch[i + 1], down=True, slope=self.slope)) for i in range(cfg['nDown'])]
                          + [(f'id{i}', ResBlock(cb, cb, slope=self.slope)) for i in range(cfg['nIdBlocks'])])

    def stem_features(self, x):
        return lrelu(self.stem(x), self.slope)

    def from_face_features(self, f_face):
        for b in self.blocks: f_face = b(f_face)
        return f_face


class AgeModulatorBlock(nn.Module):
    def __init__(self, ci, co, k, slope):
        super().__init__()
        self.slope = slope
        self.conv = Conv2D(ci, co, 3, 2, padding=1, bias=False)
        self.cbn = ConditionalBatchNorm(co, k)

    def forward(self, x, t, training=False):
        return lrelu(self.cbn(self.conv(x), t, training), self.slope)


class AgeModulator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, blocks = doubling_channels(cfg['c0'], cfg['cMax'], cfg['nDown'])[cfg['nDown']], []
        for i in range(cfg['nAmDown']):
            nxt = min(2 * c, cfg['cMax'])
            blocks.append((f'down{i}', AgeModulatorBlock(c, nxt, NUM_GROUPS, cfg['leakySlope']))); c = nxt
        self.blocks = Seq(blocks)
        self.style = Dense(c, cfg['styleDim'], gain=1.0, lr_mult=STYLE_LR_MULTIPLIER)

    def forward(self, f_id, t, training=False):
        for b in self.blocks: f_id = b(f_id, t, training)
        return self.style(global_avg_pool(f_id))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, sd, sl = doubling_channels(cfg['c0'], cfg['cMax'], cfg['nDown']), cfg['styleDim'], cfg['leakySlope']
        cb, nd = ch[cfg['nDown']], cfg['nDown']
        self.blocks = Seq([(f'res{i}', ModulatedResBlock(cb, cb, sd, sl)) for i in range(cfg['nDecBlocks'])]
                          + [(f'up{i}', ModulatedUpBlock(ch[nd - i], ch[nd - i - 1], sd, sl)) for i in range(nd)])

    def forward(self, f_id, style):
        for b in self.blocks: f_id = b(f_id, style)
        return f_id


class Generator(nn.Module):
    """G(x, m, y') (models/generator.ts). The mask must be at the image's size (tfjs resizes other sizes)."""
    def __init__(self, cfg):
        super().__init__()
        self.enc, self.am, self.dec = IdentityEncoder(cfg), AgeModulator(cfg), Decoder(cfg)
        self.to_rgb = Conv2D(cfg['c0'], 3, 1, gain=1.0)

    def forward(self, x, mask, target, training=False):
        return self.apply_encoded(self.encode_image(x, mask), target, training)

    def encode_image(self, x, mask):                # Generator.encodeImage: the target-independent half
        assert mask.shape[2:] == x.shape[2:], 'mask must be at the image size'
        inv = 1 - mask
        f0 = self.enc.stem_features(x)
        return {'f_id': self.enc.from_face_features(f0 * mask), 'f_bg': f0 * inv, 'm': mask, 'inv': inv}

    def apply_encoded(self, e, target, training=False):   # Generator.applyEncoded
        style = self.am(e['f_id'], target, training)
        f_dec = self.dec(e['f_id'], style)
        return torch.tanh(self.to_rgb(f_dec * e['m'] + e['f_bg'] * e['inv']))

    def update_moving_stats(self):
        for b in self.am.blocks: b.cbn.update_moving_stats()

    def clear_batch_stats(self):
        for b in self.am.blocks: b.cbn.clear_batch_stats()


class Discriminator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        levels, self.slope = levels_to_4x4(cfg['resolution']), cfg['leakySlope']
        ch = doubling_channels(cfg['dC0'], cfg['cMax'], levels)
        self.from_rgb = Conv2D(3, ch[0], 1)
        self.blocks = Seq([(f'b{i}', DiscriminatorBlock(ch[i], ch[i + 1], self.slope)) for i in range(levels)])
        c = ch[levels]
        self.final_conv = Conv2D(c + 1, c, 4, padding='valid')
        self.out = Dense(c, NUM_GROUPS, gain=1.0)

    def forward(self, x):
        h = lrelu(self.from_rgb(x), self.slope)
        for b in self.blocks: h = b(h)
        h = lrelu(self.final_conv(minibatch_stddev(h)), self.slope)   # [N, C, 1, 1]
        return self.out(h.reshape(h.shape[0], h.shape[1]))


class AgeClassifier(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        levels, self.slope = levels_to_4x4(cfg['resolution']), cfg['leakySlope']
        ch = doubling_channels(cfg['clsC0'], cfg['cMax'], levels)
        self.stem = Conv2D(3, ch[0], 3, padding='same')
        self.convs = Seq([(f'down{i}', Conv2D(ch[i], ch[i + 1], 3, 2, padding=1)) for i in range(levels)])
        self.out = Dense(ch[levels], NUM_GROUPS, gain=1.0)

    def forward(self, x):
        h = lrelu(self.stem(x), self.slope)
        for c in self.convs: h = lrelu(c(h), self.slope)
        return self.out(global_avg_pool(h))


def build(preset):
    cfg = PRESETS[preset]
    return Generator(cfg), Discriminator(cfg), AgeClassifier(cfg)


# ---------------------------------------------------------------- parameter check

TFJS_PREFIX = {'generator': 'generator', 'discriminator': 'discriminator', 'classifier': 'age_classifier'}


def tfjs_weights(net, prefix):
    """{tfjs weight name: tfjs-layout shape} for parameters and buffers (tfjs counts moving stats as weights)."""
    out = {}
    for name, t in list(net.named_parameters()) + list(net.named_buffers()):
        shape = list(t.shape)
        if name.endswith('.kernel'): shape = shape[2:] + shape[1::-1] if len(shape) == 4 else shape[::-1]
        out['/'.join([prefix] + tfjs_path(net, name))] = shape
    return out


def tfjs_path(net, name):
    # torch module paths equal tfjs ones except for the containers (blocks, convs) tfjs does not have
    return [p for p in name.split('.') if p not in ('blocks', 'convs')]


def param_counts(preset):
    out = {}
    for key, net in zip(('generator', 'discriminator', 'classifier'), build(preset)):
        params = list(net.parameters())
        out[key] = {'total': sum(p.numel() for p in params) + sum(b.numel() for b in net.buffers()),
                    'trainable': sum(p.numel() for p in params),
                    'lr001': sum(p.numel() for p in params if getattr(p, 'lr_mult', 1.0) != 1.0)}
    return out


def bench_params(tfjs_file=None):
    tfjs = json.load(open(tfjs_file)) if tfjs_file else None
    for preset in ('tiny', 'small', 'paper'):
        row = {'bench': 'params', 'preset': preset, 'torch': torch.__version__, **param_counts(preset)}
        if tfjs:
            shapes = {}
            for key, net in zip(('generator', 'discriminator', 'classifier'), build(preset)):
                shapes.update(tfjs_weights(net, TFJS_PREFIX[key]))
            ref = tfjs[preset]
            row['tfjs'] = {k: ref[k] for k in ('generator', 'discriminator', 'classifier')}
            row['countsMatch'] = all(row[k][f] == ref[k][f] for k in ('generator', 'discriminator', 'classifier') for f in ('total', 'trainable', 'lr001'))
            diff = sorted({f'{k} {v}' for k, v in shapes.items()} ^ {f'{k} {v}' for k, v in ref['shapes'].items()})
            row['shapesMatch'] = not diff
            if diff: row['shapeDiff'] = diff[:20]
        emit(json.dumps(row), flush=True)


# ---------------------------------------------------------------- timing

REPS = {'conv': (10, 2), 'gen': (5, 2), 'gan': (4, 1)}   # (runs, warm-ups)


ROWS = []


def emit(line, flush=True):
    """Prints one JSON result line and keeps it for --out."""
    print(line, flush=flush)
    ROWS.append(json.loads(line))


def timeit(fn, kind):
    reps, warm = REPS[kind]
    for _ in range(warm): fn()
    ts, cpu0 = [], time.process_time()
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1e3)
    # cores: process CPU time / wall time (shows whether the second thread was busy)
    return {'medianMs': round(statistics.median(ts), 2), 'runs': [round(t, 1) for t in ts], 'warmups': warm,
            'cores': round((time.process_time() - cpu0) * 1e3 / sum(ts), 2)}


def loaded_blas():
    """The BLAS library this process really loaded (from /proc/self/maps), e.g. reference netlib or OpenBLAS."""
    try:
        libs = sorted({os.path.realpath(l.split()[-1]) for l in open('/proc/self/maps') if 'blas' in l.split()[-1].lower() and '/' in l})
    except OSError:
        return 'unknown'
    if not libs: return 'none loaded'
    kind = lambda p: ('OpenBLAS' if 'openblas' in p.lower() else 'BLIS' if 'blis' in p.lower() else 'ATLAS' if 'atlas' in p.lower()
                      else 'MKL' if 'mkl' in p.lower() else 'reference (netlib)' if '/blas/' in p else 'unknown')
    return '; '.join(f'{kind(p)} {p}' for p in libs)


BLAS = None


def common():
    return {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': BLAS,
            'layout': 'NHWC (channels_last)' if MEMORY_FORMAT is torch.channels_last else 'NCHW'}


def fmt(t):
    return t.contiguous(memory_format=MEMORY_FORMAT) if t.dim() == 4 else t


def one_hot(groups):
    return F.one_hot(torch.as_tensor(groups), NUM_GROUPS).float()


def images(res, batch, seed):
    g = torch.Generator().manual_seed(seed)
    return fmt(torch.rand(batch, 3, res, res, generator=g) * 2 - 1), fmt(torch.ones(batch, 1, res, res))


def bench_conv():
    x, w, dy = fmt(torch.randn(1, 128, 64, 64)), fmt(torch.randn(128, 128, 3, 3) * 0.05), fmt(torch.randn(1, 128, 64, 64))
    gflop = 2 * 64 * 64 * 128 * 128 * 9 / 1e9
    bwd = lambda mask: torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)
    ops = {'forward': lambda: F.conv2d(x, w, padding=1),
           'inputGrad': lambda: bwd([True, False, False]),
           'filterGrad': lambda: bwd([False, True, False])}
    for op, fn in ops.items():
        r = timeit(fn, 'conv')
        emit(json.dumps({'bench': 'conv3x3', 'op': op, 'shape': 'x[1,128,64,64] w[128,128,3,3] pad 1', **common(),
                          'gflop': round(gflop, 3), 'gflops': round(gflop / r['medianMs'] * 1e3, 1), **r}), flush=True)


def gen_gflop(G, x, m, t):
    """Multiply-add FLOPs the torch profiler attributes to conv/matmul/mul/add ops in one forward."""
    try:
        with torch.no_grad(), torch.profiler.profile(with_flops=True) as prof: G(x, m, t)
        return round(sum(e.flops for e in prof.key_averages()) / 1e9, 3)
    except Exception:
        return None


def bench_gen(preset, batch):
    cfg = PRESETS[preset]; res = cfg['resolution']
    G = Generator(cfg).to(memory_format=MEMORY_FORMAT).eval()
    x, m = images(res, batch, 1)
    t = one_hot([8] * batch)                       # as core-bench.ts: group 8, mask of ones
    with torch.no_grad():
        r = timeit(lambda: G(x, m, t).sum().item(), 'gen')
    emit(json.dumps({'bench': 'generatorForward', 'preset': preset, 'shape': f'[{batch},3,{res},{res}]', 'batch': batch, **common(),
                      'mode': 'inference (CBN moving statistics, torch.no_grad), mask of ones, target group 8',
                      'params': sum(p.numel() for p in G.parameters()) + sum(b.numel() for b in G.buffers()),
                      'gflopProfiler': gen_gflop(G, x, m, t), 'medianMsPerImage': round(r['medianMs'] / batch, 2), **r}), flush=True)


class GanTwin:
    """GanTrainer (training/gan-trainer.ts) with Adam (training/adam.ts) and EMA, for one preset."""
    def __init__(self, preset, lr=1e-3, betas=(0.0, 0.99), eps=1e-8, ema_decay=0.999, r1_gamma=10.0, r1_every=1, seed=1):
        self.G, self.D, self.C = (n.to(memory_format=MEMORY_FORMAT) for n in build(preset))
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False)
        self.C.requires_grad_(False)               # frozen classifier: only a path to x'
        self.gp, self.dp = list(self.G.parameters()), list(self.D.parameters())

        def adam(params):  # per-weight lr multipliers as param groups; formula = training/adam.ts
            groups = {}
            for p in params: groups.setdefault(getattr(p, 'lr_mult', 1.0), []).append(p)
            return torch.optim.Adam([{'params': ps, 'lr': lr * k} for k, ps in groups.items()], lr=lr, betas=betas, eps=eps)
        self.opt_g, self.opt_d = adam(self.gp), adam(self.dp)
        self.ema_decay, self.r1_gamma, self.r1_every = ema_decay, r1_gamma, r1_every
        self.rng = torch.Generator().manual_seed(seed)
        self.steps = 0

    def draw_targets(self, groups):                # uniform over the groups other than y
        r = torch.randint(0, NUM_GROUPS - 1, (len(groups),), generator=self.rng).tolist()
        return [ri + 1 if ri >= y else ri for ri, y in zip(r, groups)]

    @staticmethod
    def pick(logits, groups):                      # losses/index.ts pickGroupLogit
        return (logits * groups).sum(1)

    @staticmethod
    def apply(opt, params, grads):
        finite = math.isfinite(torch.stack([g.abs().sum() for g in grads]).sum().item())   # gradsFinite
        if finite:
            for p, g in zip(params, grads): p.grad = g
            opt.step()
        return finite

    def step(self, x, m, groups, times):
        G, D, C = self.G, self.D, self.C
        y, yt = one_hot(groups), one_hot(self.draw_targets(groups))
        r1_applied = self.r1_gamma > 0 and self.steps % self.r1_every == 0
        t0 = time.perf_counter()
        # ---- D step (fake images are constants)
        with torch.no_grad(): fake = G(x, m, yt, training=True)
        if r1_applied:                             # R1 = gamma/2 · E||∇x D_y(x)||²; its D forward on the reals
            xr = x.detach().requires_grad_()       # also gives the adversarial logits (r1PenaltyWithLogits)
            real_logits = D(xr)
            g, = torch.autograd.grad(self.pick(real_logits, y).sum(), xr, create_graph=True)
            d_r1 = self.r1_gamma / 2 * g.square().sum([1, 2, 3]).mean()
        else:
            real_logits = D(x)
        d_adv = F.softplus(-self.pick(real_logits, y)).mean() + F.softplus(self.pick(D(fake), yt)).mean()
        d_total = d_adv
        if r1_applied:
            d_total = d_total + d_r1 * self.r1_every
        d_grads = torch.autograd.grad(d_total, self.dp)
        losses = {'d_total': d_total.item(), 'd_adv': d_adv.item(), **({'d_r1': d_r1.item()} if r1_applied else {})}
        self.apply(self.opt_d, self.dp, d_grads)
        t1 = time.perf_counter()
        # ---- G step
        # the encoder half runs once for x and once for x' (GanTrainer shares it the same way)
        on_x = G.encode_image(x, m)
        xt = G.apply_encoded(on_x, yt, training=True)
        parts = {'g_adv': (1, F.softplus(-self.pick(D(xt), yt)).mean()),
                 'g_age': (1, -(yt * F.log_softmax(C(xt), 1)).sum(1).mean()),
                 'g_rec': (10, (G.apply_encoded(on_x, y, training=True) - x).abs().mean())}
        on_xt = G.encode_image(xt, m)
        parts['g_cyc'] = (10, (G.apply_encoded(on_xt, y, training=True) - x).abs().mean())
        parts['g_id_feature'] = (1, (on_xt['f_id'] - on_x['f_id']).abs().mean())
        g_total = sum(w * v for w, v in parts.values())
        g_grads = torch.autograd.grad(g_total, self.gp)
        losses['g_total'] = g_total.item()
        for k, (_, v) in parts.items(): losses[k] = v.item()
        t2 = time.perf_counter()
        if self.apply(self.opt_g, self.gp, g_grads):
            G.update_moving_stats()
            with torch.no_grad():                  # updateEma: trainable averaged, moving stats copied
                for e, s in zip(self.G_ema.parameters(), self.gp): e.mul_(self.ema_decay).add_(s, alpha=1 - self.ema_decay)
                for e, s in zip(self.G_ema.buffers(), G.buffers()): e.copy_(s)
        else:
            G.clear_batch_stats()                  # a discarded step must not move the statistics
        t3 = time.perf_counter()
        self.steps += 1
        for k, v in (('dStep', t1 - t0), ('gStepFwdBwd', t2 - t1), ('gAdamEma', t3 - t2)): times.setdefault(k, []).append(v * 1e3)
        return losses


def bench_gan(preset, batch):
    cfg = PRESETS[preset]; res = cfg['resolution']
    twin = GanTwin(preset)
    x, m = images(res, batch, 2)
    groups = [[0, 3, 6, 9][i % 4] for i in range(batch)]    # as core-bench.ts
    times, losses = {}, {}
    r = timeit(lambda: losses.update(twin.step(x, m, groups, times)), 'gan')
    warm = REPS['gan'][1]
    parts = {k: round(statistics.median(v[warm:]), 1) for k, v in times.items()}
    emit(json.dumps({'bench': 'trainIteration', 'preset': preset, 'shape': f'[{batch},3,{res},{res}]', 'batch': batch, **common(),
                      'what': 'D step with R1 (gamma 10, every step: r1Every 1) + G step (adversarial, age CE via frozen classifier, '
                              'reconstruction L1 x10, cycle L1 x10, identity feature L1) + Adam (0, 0.99) on D and G + CBN stats + EMA',
                      'params': {k: v['total'] for k, v in param_counts(preset).items()},
                      **r, 'imagesPerSecond': round(batch / r['medianMs'] * 1e3, 2), 'phasesMedianMs': parts,
                      'lastLosses': {k: round(v, 4) for k, v in losses.items()}}), flush=True)


def serve():
    """Paired timing (bench/paired.ts): read one request per line from stdin, run it ONCE, print
    {"ms": ...}. Requests: `conv OP` (forward | inputGrad | filterGrad), `gen PRESET B`, `gan PRESET B`.
    Networks and tensors are built on first use and kept, so the caller decides warm-ups and pairing."""
    cache = {}
    for line in sys.stdin:
        parts = line.split()
        if not parts: continue
        try:
            key = tuple(parts)
            if key not in cache:
                kind = parts[0]
                if kind == 'conv':
                    x, w, dy = fmt(torch.randn(1, 128, 64, 64)), fmt(torch.randn(128, 128, 3, 3) * 0.05), fmt(torch.randn(1, 128, 64, 64))
                    bwd = lambda mask, x=x, w=w, dy=dy: torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)
                    cache[key] = {'forward': lambda: F.conv2d(x, w, padding=1), 'inputGrad': lambda: bwd([True, False, False]),
                                  'filterGrad': lambda: bwd([False, True, False])}[parts[1]]
                elif kind == 'gen':
                    cfg = PRESETS[parts[1]]; res, batch = cfg['resolution'], int(parts[2])
                    G = Generator(cfg).to(memory_format=MEMORY_FORMAT).eval()
                    x, m = images(res, batch, 1); t = one_hot([8] * batch)
                    def run(G=G, x=x, m=m, t=t):
                        with torch.no_grad(): G(x, m, t).sum().item()
                    cache[key] = run
                elif kind == 'gan':
                    cfg = PRESETS[parts[1]]; batch = int(parts[2])
                    twin = GanTwin(parts[1]); x, m = images(cfg['resolution'], batch, 2)
                    groups = [[0, 3, 6, 9][i % 4] for i in range(batch)]
                    cache[key] = lambda twin=twin, x=x, m=m, groups=groups: twin.step(x, m, groups, {})
                else:
                    raise ValueError(f'unknown request {line.strip()!r}')
            t0 = time.perf_counter(); cache[key](); ms = (time.perf_counter() - t0) * 1e3
            print(json.dumps({'ms': round(ms, 3)}), flush=True)
        except Exception as e:  # one bad request must not end the session
            print(json.dumps({'error': f'{type(e).__name__}: {e}'}), flush=True)


def main(argv):
    global MEMORY_FORMAT, BLAS
    args, tfjs_file, out_file = [], None, None
    quick = os.environ.get('RAGAN_TWIN_QUICK') == '1'
    it = iter(argv[1:])
    for a in it:
        if a == '--quick': quick = True
        elif a == '--nhwc': MEMORY_FORMAT = torch.channels_last
        elif a == '--reps': n = int(next(it)); REPS.update({k: (n, w) for k, (_, w) in REPS.items()})
        elif a == '--warmup': n = int(next(it)); REPS.update({k: (r, n) for k, (r, _) in REPS.items()})
        elif a == '--tfjs-shapes': tfjs_file = next(it)
        elif a == '--out': out_file = next(it)
        else: args.append(a)
    if quick: REPS.update({k: (2, 1) for k in REPS})
    if not args: sys.exit(__doc__)
    torch.manual_seed(0)
    torch.set_num_threads(int(args[0]))
    if args[1:] == ['serve']:
        return serve()
    torch.ones(2, 2) @ torch.ones(2, 2)          # make sure the BLAS is loaded before looking
    BLAS = loaded_blas()
    emit(json.dumps({'bench': 'info', 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'mkldnn': torch.backends.mkldnn.is_available(),
                      'blas': BLAS, 'python': platform.python_version(), 'loadavg': [round(v, 2) for v in os.getloadavg()], 'quick': quick,
                      'reps': {k: {'runs': r, 'warmups': w} for k, (r, w) in REPS.items()}, 'layout': common()['layout']}), flush=True)
    for what in args[1:] or ['conv', 'gen:tiny:1', 'gen:small:1', 'gen:paper:1', 'gan:tiny:4', 'gan:small:2']:
        kind, *rest = what.split(':')
        if kind == 'params': bench_params(tfjs_file)
        elif kind == 'conv': bench_conv()
        elif kind in ('gen', 'gan'):
            preset, batch = rest[0], int(rest[1]) if len(rest) > 1 else 1
            if preset not in PRESETS: sys.exit(f'unknown preset {preset!r}: use tiny, small or paper')
            (bench_gen if kind == 'gen' else bench_gan)(preset, batch)
        else: sys.exit(f'unknown measurement {what!r}\n{__doc__}')
    if out_file:
        info = ROWS[0] if ROWS and ROWS[0].get('bench') == 'info' else {}
        doc = {'package': 'bench/pytorch_twin.py', **{k: v for k, v in info.items() if k != 'bench'}, 'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
               'results': [r for r in ROWS if r.get('bench') != 'info']}
        tmp = out_file + '.tmp'
        with open(tmp, 'w') as f: json.dump(doc, f, indent=2); f.write('\n')
        os.replace(tmp, out_file)


if __name__ == '__main__':
    main(sys.argv)
