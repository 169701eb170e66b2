"""Write the PyTorch golden fixture that dnas/nn's golden_test.go checks the Go layers against.

Run from the repository root with Debian's PyTorch 1.13:

    /usr/bin/python3 tools/torchgolden/gen.py

It builds a small UNet-like stack that uses every layer of dnas/nn: sinusoidal time
embedding, Linear, SiLU, Conv2d with kernels 1, 3 and 5 and a stride-2 conv, GroupNorm,
the ResBlock's broadcast time injection, Dropout (eval mode: the identity), residual add,
Attn (exactly the module of shared/bench/torch_unet.py), nearest 2x upsampling, channel
concat and the MSE loss. With a fixed seed it runs forward and backward and writes

    dnas/nn/testdata/golden/golden.json   index: {"tensors": {name: {"shape": [...], "offset": n}}, ...}
    dnas/nn/testdata/golden/golden.bin    every tensor as little-endian float32, at offset n (in floats)

Names: inputs "in.x", "in.t", "in.target"; parameters by their state_dict name
("stem.weight"); activations "act.<name>"; "out.pred", "out.loss"; gradients "grad.<param>"
and "grad.x"; parameters after two Adam steps (lr 1e-2, weight_decay 0.01, taken with the
same gradients twice) "adam.<param>".
"""
import json, math, os, struct, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "bench"))
try:
    from torch_unet import Attn  # the reference module itself, when the shared tree is there
except ImportError:
    class Attn(nn.Module):  # a verbatim copy of torch_unet.py's Attn
        def __init__(s, c):
            super().__init__(); s.n = nn.GroupNorm(min(8, c), c); s.qkv = nn.Conv2d(c, 3 * c, 1); s.o = nn.Conv2d(c, c, 1)
        def forward(s, x):
            B, C, H, W = x.shape
            q, k, v = s.qkv(s.n(x)).reshape(B, 3, C, H * W).unbind(1)
            a = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(C), -1)
            return x + s.o((v @ a.transpose(1, 2)).reshape(B, C, H, W))

TDIM_IN, TDIM = 8, 16


def timestep_embedding(t, dim):
    half = dim // 2
    f = torch.exp(-math.log(10000) * torch.arange(half) / half)
    return torch.cat([torch.sin(t[:, None] * f), torch.cos(t[:, None] * f)], 1)


class Stack(nn.Module):
    def __init__(s):
        super().__init__()
        s.temb1, s.temb2 = nn.Linear(TDIM_IN, TDIM), nn.Linear(TDIM, TDIM)
        s.stem = nn.Conv2d(2, 8, 3, padding=1)
        s.n1, s.c1 = nn.GroupNorm(4, 8), nn.Conv2d(8, 16, 5, padding=2)
        s.t = nn.Linear(TDIM, 16)
        s.n2, s.drop, s.c2 = nn.GroupNorm(8, 16), nn.Dropout(0.3), nn.Conv2d(16, 16, 1)
        s.sc = nn.Conv2d(8, 16, 1)
        s.attn = Attn(16)
        s.down = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        s.up = nn.Conv2d(16, 16, 3, padding=1)
        s.n3, s.out = nn.GroupNorm(8, 32), nn.Conv2d(32, 2, 3, padding=1)

    def forward(s, x, t, acts):
        te = s.temb2(F.silu(s.temb1(timestep_embedding(t, TDIM_IN))))
        h0 = s.stem(x)
        h = s.c1(F.silu(s.n1(h0))) + s.t(F.silu(te))[:, :, None, None]
        h = s.c2(s.drop(F.silu(s.n2(h))))
        h1 = s.sc(h0) + h
        ha = s.attn(h1)
        d = s.down(ha)
        u = s.up(F.interpolate(d, scale_factor=2, mode="nearest"))
        pred = s.out(F.silu(s.n3(torch.cat([u, ha], 1))))
        acts.update(te=te, h0=h0, h1=h1, attn=ha, down=d, up=u)
        return pred


def main():
    torch.manual_seed(0)
    m = Stack().eval()
    with torch.no_grad():  # non-trivial norm affines, so a swapped gamma/beta cannot pass
        for mod in m.modules():
            if isinstance(mod, nn.GroupNorm):
                mod.weight.copy_(1 + 0.3 * torch.randn_like(mod.weight))
                mod.bias.copy_(0.3 * torch.randn_like(mod.bias))
    x = torch.randn(2, 2, 8, 8, requires_grad=True)
    t = torch.tensor([3.0, 917.0])
    target = torch.randn(2, 2, 8, 8)
    acts = {}
    pred = m(x, t, acts)
    loss = F.mse_loss(pred, target)
    loss.backward()

    out = {"in.x": x.detach(), "in.t": t, "in.target": target, "out.pred": pred.detach(),
           "out.loss": loss.detach().reshape(1), "grad.x": x.grad}
    for k, v in acts.items():
        out["act." + k] = v.detach()
    params = dict(m.named_parameters())
    for k, p in params.items():
        out[k] = p.detach().clone()
        out["grad." + k] = p.grad.clone()
    opt = torch.optim.Adam(m.parameters(), lr=1e-2, weight_decay=0.01)
    opt.step()
    opt.step()
    for k, p in params.items():
        out["adam." + k] = p.detach().clone()

    here = os.path.dirname(os.path.abspath(__file__))
    dst = os.path.join(here, "..", "..", "dnas", "nn", "testdata", "golden")
    os.makedirs(dst, exist_ok=True)
    index, offset = {}, 0
    with open(os.path.join(dst, "golden.bin"), "wb") as f:
        for k in sorted(out):
            v = out[k].contiguous().float().reshape(-1)
            f.write(struct.pack("<%df" % v.numel(), *v.tolist()))
            index[k] = {"shape": list(out[k].shape), "offset": offset}
            offset += v.numel()
    meta = {"generator": "tools/torchgolden/gen.py", "torch": torch.__version__, "seed": 0,
            "adam": {"lr": 1e-2, "weight_decay": 0.01, "steps": 2}}
    with open(os.path.join(dst, "golden.json"), "w") as f:
        json.dump({"meta": meta, "tensors": index}, f, indent=1, sort_keys=True)
    print("wrote %d tensors, %d floats, loss %.6f" % (len(index), offset, loss.item()))


if __name__ == "__main__":
    main()
