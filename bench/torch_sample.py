#!/usr/bin/python3
"""PyTorch side of `bench/compare.sh --sample`: DDIM sampling with the base network.

It samples --n images with deterministic DDIM (eta 0) over --steps steps, --batch
images per network call, from the network of torch_unet.py (the module is
imported, not copied), and prints one JSON object with the same keys as
`dnas bench --sample N --json`: images, steps, batch, seconds, images_per_s,
cpu_seconds, peak_rss_mb and what was run.

The sampler does the arithmetic of dnas/diffusion step for step, so both sides
run the same computation:

  noise schedule  beta_t = 1e-4 + (0.02 - 1e-4) * t / (T-1), t = 0..T-1 (T = 1000),
                  alphaBar_t = prod_{s<=t} (1 - beta_s), all in float64
  timesteps       tau_i = round((T-1) * (S-1-i) / (S-1)), i = 0..S-1 (T-1 down to 0)
  DDIM, eta 0     x0 = (x - sqrt(1-aBar_t) eps) / sqrt(aBar_t); where x0 leaves [-1, 1]
                  it is clipped and eps recomputed as (x - sqrt(aBar_t) x0) / sqrt(1-aBar_t);
                  x <- sqrt(aBar_prev) x0 + sqrt(1-aBar_prev) eps   (aBar_prev = 1 after
                  the last step), in float64, rounded to float32 after each step

The weights do not change the time; --model loads a dnas teacher checkpoint
(default models/base.safetensors, whose recorded architecture and schedule are
used) so the images can be compared with dnas's. --check DUMP does that: DUMP
is written by `dnas bench --sample K --sample-dump DUMP` and holds dnas's
starting noise and final images; this script samples from the same noise with
the same weights and fails (exit 1) if an image differs by more than --tol.

usage: /usr/bin/python3 bench/torch_sample.py [--n 1000] [--steps 50] [--batch 100]
           [--threads 2] [--seed 0] [--model models/base.safetensors | --model ""]
       /usr/bin/python3 bench/torch_sample.py --check DUMP [--model ...] [--tol 1e-3]
"""
import argparse
import json
import math
import os
import re
import resource
import struct
import sys
import time
from fractions import Fraction

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_unet import UNet, count_macs  # noqa: E402  (the network of `make bench`)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(REPO, "models", "base.safetensors")

# The base preset of dnas/presets.go, used when no checkpoint is loaded.
BASE_PRESET = {"name": "base", "noise": "linear", "t": 1000,
               "unet": {"in_channels": 1, "resolution": 28, "ch": 32, "mult": [1, 2, 2],
                        "num_res_blocks": 2, "attn_res": [7], "dropout": 0.1, "groups": 0}}


def read_safetensors(path):
    """Returns (tensors, metadata) of a safetensors file of float32 tensors."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: too short to be a safetensors file" % path)
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise ValueError("%s: tensor %s is %s; only F32 is supported" % (path, name, e["dtype"]))
        lo, hi = e["data_offsets"]
        t = torch.frombuffer(bytearray(body[lo:hi]), dtype=torch.float32)
        tensors[name] = t.reshape(e["shape"])
    return tensors, meta


def torch_name(go_name):
    """Maps a dnas parameter name (down.3.c1.k3.w) to torch_unet.py's (enc.3.c1.weight)."""
    parts = go_name.split(".")
    parts[0] = {"down": "enc", "up": "dec", "out": "head", "temb": "time"}.get(parts[0], parts[0])
    parts = [p for p in parts if not re.fullmatch(r"k\d+", p)]  # a teacher's convs have one kernel choice
    parts = ["n" if p == "norm" else p for p in parts]            # the attention's GroupNorm
    parts[-1] = {"w": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}[parts[-1]]
    return ".".join(parts)


def build_model(path):
    """Builds the UNet (and returns its preset) from a dnas teacher checkpoint, or
    the base architecture with PyTorch's random initialisation when path is empty."""
    if not path:
        preset = BASE_PRESET
        cfg = preset["unet"]
        return make_unet(cfg), preset, "random init"
    tensors, meta = read_safetensors(path)
    if meta.get("format") != "dnas-teacher/1":
        raise SystemExit("%s: not a dnas teacher checkpoint (format %r)" % (path, meta.get("format")))
    preset = json.loads(meta["preset"])
    model = make_unet(preset["unet"])
    prefix = "ema." if meta.get("kind") == "training" else "model."
    state = {torch_name(k[len(prefix):]): v for k, v in tensors.items() if k.startswith(prefix)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit("%s does not fit torch_unet.py's UNet: missing %s, unexpected %s"
                         % (path, missing[:3], unexpected[:3]))
    return model, preset, "%s (step %s)" % (os.path.relpath(path), meta.get("step", "?"))


def make_unet(cfg):
    if cfg.get("groups", 0) not in (0, None):
        raise SystemExit("groups %r: torch_unet.py only has min(8, channels) groups" % cfg["groups"])
    if any(k != 3 for k in cfg.get("kernels") or []):
        raise SystemExit("kernels %r: torch_unet.py only has 3x3 ResBlock convs (a teacher, not a subnet)"
                         % cfg["kernels"])
    return UNet(ch=cfg["ch"], mult=tuple(cfg["mult"]), nrb=cfg["num_res_blocks"], attn_res=tuple(cfg["attn_res"]),
                res=cfg["resolution"], cin=cfg["in_channels"], dropout=cfg["dropout"])


def alpha_bar(kind, T):
    """alphaBar_t, t = 0..T-1, in float64 exactly as diffusion.NewNoiseSchedule."""
    if kind in ("", "linear"):
        lo = 1e-4
        span = float(Fraction("0.02") - Fraction("1e-4"))  # Go folds hi-lo as exact constants
        betas = [lo + span * t / (T - 1) for t in range(T)]
    elif kind == "cosine":
        s = 0.008
        f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
        betas = [min(1 - f(t + 1) / f(t), 0.999) for t in range(T)]
    else:
        raise SystemExit("unknown noise schedule %r" % kind)
    out, prod = [], 1.0
    for b in betas:
        prod *= 1 - b
        out.append(prod)
    return out


def ddim_timesteps(T, steps):
    """The visited timesteps, evenly spaced from T-1 down to 0 (diffusion.DDIM.Timesteps)."""
    n = min(max(steps, 1), T)
    if n == 1:
        return [T - 1]
    return [int(math.floor((T - 1) * (n - 1 - i) / (n - 1) + 0.5)) for i in range(n)]  # Go's math.Round


def ddim_sample(model, noise, abar, steps):
    """Runs DDIM (eta 0, x0 clipped to [-1, 1]) from noise [n,C,H,W]; returns the images."""
    ts = ddim_timesteps(len(abar), steps)
    x = noise.clone()
    for i, t in enumerate(ts):
        eps = model(x, torch.full((x.shape[0],), float(t))).double()
        ab = abar[t]
        ab_prev = abar[ts[i + 1]] if i + 1 < len(ts) else 1.0
        sa, sb, sap, dir_coef = math.sqrt(ab), math.sqrt(1 - ab), math.sqrt(ab_prev), math.sqrt(max(1 - ab_prev, 0))
        xt = x.double()
        x0 = (xt - sb * eps) / sa
        out = (x0 < -1) | (x0 > 1)
        x0 = x0.clamp(-1, 1)
        eps = torch.where(out, (xt - sa * x0) / sb, eps)
        x = (sap * x0 + dir_coef * eps).float()
    return x


def sample(model, abar, n, steps, batch, seed, size, channels, progress=None):
    """Samples n images in batches; image i's noise depends only on seed and i.
    progress, if given, is called with the number of images done after each batch."""
    out = torch.empty(n, channels, size, size)
    for b0 in range(0, n, batch):
        k = min(batch, n - b0)
        noise = torch.empty(k, channels, size, size)
        for j in range(k):
            g = torch.Generator().manual_seed(seed * 1_000_003 + b0 + j)
            noise[j] = torch.randn(channels, size, size, generator=g)
        out[b0:b0 + k] = ddim_sample(model, noise, abar, steps)
        if progress:
            progress(b0 + k)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="images to sample")
    ap.add_argument("--steps", type=int, default=50, help="DDIM steps")
    ap.add_argument("--batch", type=int, default=100, help="images per network call (dnas's sampler uses 100)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=DEFAULT_MODEL, help='dnas teacher checkpoint ("" for random weights)')
    ap.add_argument("--check", metavar="DUMP", help="compare with dnas's images in DUMP (dnas bench --sample-dump)")
    ap.add_argument("--tol", type=float, default=1e-3, help="--check: largest allowed pixel difference")
    args = ap.parse_args()
    if args.n < 1 or args.steps < 1 or args.batch < 1:
        raise SystemExit("--n %d --steps %d --batch %d: all must be positive" % (args.n, args.steps, args.batch))
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model, preset, source = build_model(args.model)
    model.eval()
    cfg = preset["unet"]
    abar = alpha_bar(preset.get("noise", "linear"), preset.get("t") or 1000)

    if args.check:
        check(model, abar, args, source)
        return
    args.batch = min(args.batch, args.n)  # as dnas: the batch reported is the one run

    size, channels = cfg["resolution"], cfg["in_channels"]
    x = torch.randn(args.batch, channels, size, size)
    with torch.inference_mode():
        macs = count_macs(model, x, torch.zeros(x.shape[0]))
        model(x, torch.zeros(x.shape[0]))  # warm-up: oneDNN picks its kernels (dnas warms up too)
        start, cpu = time.perf_counter(), time.process_time()

        def progress(done):  # on stderr, so a long run can be followed (stdout holds only the JSON)
            if done < args.n:
                print("pytorch: %d/%d images, %.1f s" % (done, args.n, time.perf_counter() - start), file=sys.stderr)

        images = sample(model, abar, args.n, args.steps, args.batch, args.seed, size, channels, progress)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    forwards = -(-args.n // args.batch) * len(ddim_timesteps(len(abar), args.steps))
    print(json.dumps({
        "impl": "pytorch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": source,
        "sampler": "DDIM %d steps, eta 0" % len(ddim_timesteps(len(abar), args.steps)),
        "images": args.n,
        "steps": args.steps,
        "batch": args.batch,
        "forwards": forwards,
        "params": sum(p.numel() for p in model.parameters()),
        "macs_per_sample": macs,
        "seconds": seconds,
        "images_per_s": args.n / seconds,
        "ms_per_forward": seconds / forwards * 1e3,
        "cpu_seconds": cpu_seconds,  # all threads (OpenMP's spinning included)
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "mean": images.mean().item(),
        "std": images.std().item(),
    }))


def check(model, abar, args, source):
    """Samples from the noise in a dnas dump and compares with dnas's images."""
    tensors, meta = read_safetensors(args.check)
    if "noise" not in tensors or "images" not in tensors:
        raise SystemExit("%s: want tensors \"noise\" and \"images\" (write it with dnas bench --sample-dump)" % args.check)
    steps = int(meta.get("steps", args.steps))
    with torch.inference_mode():
        got = ddim_sample(model, tensors["noise"], abar, steps)
    diff = (got - tensors["images"]).abs()
    per_image = diff.flatten(1).max(1).values
    res = {"check": args.check, "model": source, "dnas_model": meta.get("model", "?"), "steps": steps,
           "images": tensors["noise"].shape[0], "max_abs_diff": diff.max().item(),
           "mean_abs_diff": diff.mean().item(), "max_abs_diff_per_image": [round(v, 7) for v in per_image.tolist()],
           "tol": args.tol, "ok": diff.max().item() <= args.tol}
    print(json.dumps(res))
    if not res["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
