#!/usr/bin/python3
"""PyTorch side of `make bench`: the reference DDPM UNet of dnas (the MNIST
teacher of METHOD.md: ch 32, mult 1,2,2, two ResBlocks per level, attention
at 7x7, dropout 0.1), timed on this machine.

It times what `dnas bench` times: a training step (forward, MSE loss,
backward, Adam) in training mode, and a forward pass in eval mode without
gradients, on random data. It prints one JSON object with the same keys as
`dnas bench --json`.

usage: /usr/bin/python3 bench/torch_unet.py [--batch 64] [--steps 10] [--threads 2]
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def norm(c):
    """GroupNorm with min(8, c) groups, as the Go model."""
    return nn.GroupNorm(min(8, c), c)


class ResBlock(nn.Module):
    """GN, SiLU, conv, + time projection, GN, SiLU, dropout, conv, + shortcut."""

    def __init__(self, cin, cout, tdim, dropout):
        super().__init__()
        self.n1 = norm(cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(tdim, cout)
        self.n2 = norm(cout)
        self.drop = nn.Dropout(dropout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.sc = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(F.silu(temb)).unsqueeze(-1).unsqueeze(-1)
        h = self.c2(self.drop(F.silu(self.n2(h))))
        return self.sc(x) + h


class Attention(nn.Module):
    """Single-head spatial self-attention with a residual connection."""

    def __init__(self, c):
        super().__init__()
        self.n = norm(c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        b, c, hh, ww = x.shape
        q, k, v = self.qkv(self.n(x)).reshape(b, 3, c, hh * ww).unbind(1)
        att = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(c), dim=-1)  # [b, L, L]
        o = torch.bmm(v, att.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj(o)


class UNet(nn.Module):
    def __init__(self, ch=32, mult=(1, 2, 2), nrb=2, attn_res=(7,), res=28, cin=1, dropout=0.1):
        super().__init__()
        self.ch, tdim = ch, 4 * ch
        self.time = nn.Sequential(nn.Linear(ch, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.stem = nn.Conv2d(cin, ch, 3, padding=1)
        self.enc = nn.ModuleList()
        skips, c, r = [ch], ch, res
        for lvl, m in enumerate(mult):
            for _ in range(nrb):
                self.enc.append(ResBlock(c, ch * m, tdim, dropout))
                c = ch * m
                if r in attn_res:
                    self.enc.append(Attention(c))
                skips.append(c)
            if lvl < len(mult) - 1:
                self.enc.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
                r = (r + 1) // 2
        self.mid = nn.ModuleList([ResBlock(c, c, tdim, dropout), Attention(c), ResBlock(c, c, tdim, dropout)])
        self.dec = nn.ModuleList()
        for lvl in reversed(range(len(mult))):
            for _ in range(nrb + 1):
                self.dec.append(ResBlock(c + skips.pop(), ch * mult[lvl], tdim, dropout))
                c = ch * mult[lvl]
                if r in attn_res:
                    self.dec.append(Attention(c))
            if lvl > 0:
                self.dec.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)))
                r *= 2
        self.head = nn.Sequential(norm(c), nn.SiLU(), nn.Conv2d(c, cin, 3, padding=1))

    def embed(self, t):
        half = self.ch // 2
        f = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        a = t[:, None] * f[None]
        return self.time(torch.cat([a.sin(), a.cos()], dim=1))

    def forward(self, x, t):
        temb = self.embed(t)
        h = self.stem(x)
        skips = [h]
        for m in self.enc:
            if isinstance(m, ResBlock):
                h = m(h, temb)
                skips.append(h)
            elif isinstance(m, Attention):
                h = m(h)
                skips[-1] = h
            else:
                h = m(h)
                skips.append(h)
        for m in self.mid:
            h = m(h, temb) if isinstance(m, ResBlock) else m(h)
        for m in self.dec:
            if isinstance(m, ResBlock):
                h = m(torch.cat([h, skips.pop()], dim=1), temb)
            else:
                h = m(h)
        return self.head(h)


def count_macs(model, x, t):
    """Multiply-accumulates of one sample: convs, linears, attention matmuls."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            total[0] += out[0].numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups
        elif isinstance(mod, nn.Linear):
            total[0] += out[0].numel() * mod.in_features
        elif isinstance(mod, Attention):
            _, c, hh, ww = inp[0].shape
            total[0] += 2 * (hh * ww) ** 2 * c

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x[:1], t[:1])
    for h in handles:
        h.remove()
    return total[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = UNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    x = torch.randn(args.batch, 1, 28, 28)
    noise = torch.randn_like(x)
    t = torch.randint(0, 1000, (args.batch,)).float()
    macs = count_macs(model, x, t)

    def train_step():
        opt.zero_grad()
        loss = F.mse_loss(model(x, t), noise)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    for _ in range(2):
        train_step()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        loss = train_step()
    train = (time.perf_counter() - start) / args.steps
    train_cpu = (time.process_time() - cpu) / args.steps

    model.eval()
    with torch.no_grad():
        model(x, t)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.steps):
            model(x, t)
        fwd = (time.perf_counter() - start) / args.steps
        fwd_cpu = (time.process_time() - cpu) / args.steps

    flop = 2 * macs * args.batch
    print(json.dumps({
        "impl": "pytorch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "steps": args.steps,
        "params": sum(p.numel() for p in model.parameters()),
        "macs_per_sample": macs,
        "train_step_ms": train * 1e3,
        "forward_ms": fwd * 1e3,
        "train_cpu_ms": train_cpu * 1e3,  # CPU time of all threads (OpenMP's spinning included)
        "forward_cpu_ms": fwd_cpu * 1e3,
        "train_gflops": 3 * flop / train / 1e9,
        "forward_gflops": flop / fwd / 1e9,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loss": loss,
    }))


if __name__ == "__main__":
    main()
