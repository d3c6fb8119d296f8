"""Core benchmarks: HyperGrad against torch in the same run, one thread each.

    python benchmarks/bench_core.py            # all three
    python benchmarks/bench_core.py chain mlp  # a subset

1. chain  - a chain of small elementwise ops on 16 elements, forward and backward: time per op.
            Target: at most 1.5x torch.
2. mlp    - one training step of a 3-layer MLP (batch 64, hidden 256, float32): forward, loss,
            backward, SGD update. Target: at most 1.3x torch.
3. memory - peak resident memory added by building and backpropagating a 200,000-op chain,
            each library in a fresh subprocess. Target: no more than torch.

Each timing is the best of several repeats (the least disturbed by the rest of the machine).
The ratios, not the absolute times, are the result: both libraries run on the same machine in
the same minute.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import hypergrad as hg  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    sys.exit("these benchmarks compare against torch: pip install torch==2.13.0")

torch.set_num_threads(1)

TARGETS = {"chain": 1.5, "mlp": 1.3, "memory": 1.0}


def best_of(fns, repeats=9):
    """Best time of each function, their runs interleaved so that load on the machine hits
    both libraries alike."""
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


# --------------------------------------------------------------------------------------------
def chain_step(lib, x, w, length):
    """`length` ops: mul by a tensor, add a tensor, tanh, mul by a number; then backward."""
    y = x
    for _ in range(length // 4):
        y = y * w
        y = y + x
        y = y.tanh()
        y = y * 1.5
    y.sum().backward()


def bench_chain(length=4000):
    fns = {}
    for name, lib in (("torch", torch), ("hypergrad", hg)):
        x = lib.randn(16, requires_grad=True)
        w = lib.randn(16, requires_grad=True)
        fns[name] = (lambda lib, x, w: lambda: chain_step(lib, x, w, length))(lib, x, w)
    return {name: seconds / length for name, seconds in best_of(fns).items()}


# --------------------------------------------------------------------------------------------
def make_mlp(lib, sizes, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        params += [lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)]
    return params


def mlp_step(lib, params, x, target, lr=0.01):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = h.relu()
    loss = ((h - target) ** 2).mean()
    loss.backward()
    with lib.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss


def bench_mlp(batch=64, hidden=256, features=64, classes=10):
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal((batch, features)).astype(np.float32)
    t_np = rng.standard_normal((batch, classes)).astype(np.float32)
    fns = {}
    for name, lib in (("torch", torch), ("hypergrad", hg)):
        params = make_mlp(lib, [features, hidden, hidden, classes])
        x, target = lib.tensor(x_np), lib.tensor(t_np)
        fns[name] = (lambda lib, params, x, target: lambda: [
            mlp_step(lib, params, x, target) for _ in range(20)])(lib, params, x, target)
    return {name: seconds / 20 for name, seconds in best_of(fns, repeats=7).items()}


# --------------------------------------------------------------------------------------------
_MEMORY_PROGRAM = r"""
import os, sys, json, resource
os.environ["OMP_NUM_THREADS"] = "1"
lib_name, length = sys.argv[1], int(sys.argv[2])
if lib_name == "torch":
    import torch as lib
    lib.set_num_threads(1)
else:
    import hypergrad as lib
def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
x = lib.randn(16, requires_grad=True)
(x * 2).sum().backward()          # warm up allocators and lazy imports
x.grad = None
baseline = rss_kib()
y = x
for _ in range(length):
    y = y * 1.0001
y.sum().backward()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux
print(json.dumps({"peak_added_kib": peak - baseline}))
"""


def bench_memory(length=200_000):
    results = {}
    for name in ("torch", "hypergrad"):
        out = subprocess.run([sys.executable, "-c", _MEMORY_PROGRAM, name, str(length)],
                             capture_output=True, text=True, check=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])["peak_added_kib"] * 1024
    return results


# --------------------------------------------------------------------------------------------
def main(argv=None):
    which = (argv if argv is not None else sys.argv[1:]) or ["chain", "mlp", "memory"]
    benches = {"chain": (bench_chain, "us/op", 1e6), "mlp": (bench_mlp, "ms/step", 1e3),
               "memory": (bench_memory, "MiB", 1 / 2 ** 20)}
    print(f"hypergrad {hg.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
          "1 thread each")
    print(f"{'benchmark':10} {'torch':>12} {'hypergrad':>12} {'ratio':>7} {'target':>7}")
    ratios = {}
    for name in which:
        fn, unit, scale = benches[name]
        result = fn()
        ratio = result["hypergrad"] / result["torch"]
        ratios[name] = ratio
        verdict = "ok" if ratio <= TARGETS[name] else "OVER"
        print(f"{name:10} {result['torch'] * scale:9.2f} {unit:<3}"
              f"{result['hypergrad'] * scale:9.2f} {unit:<3}{ratio:6.2f}x {TARGETS[name]:5.1f}x"
              f"  {verdict}")
    return ratios


if __name__ == "__main__":
    main()
