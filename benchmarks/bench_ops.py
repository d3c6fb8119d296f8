"""Linear-algebra op benchmarks: HyperGrad against torch in the same run, one thread each.

    python benchmarks/bench_ops.py              # every op, both sizes
    python benchmarks/bench_ops.py inv svd      # some ops

For each op (inv, solve, det, svd, eigh, einsum, matmul) and each size (a small 8x8 and a
medium 128x128 float64 matrix), one step is the forward and the backward of
`(op(A) * W).sum()` for a fixed random W. The table gives the best time per step of each
library and the ratio HyperGrad / torch.

Each timing is the best of several repeats, the two libraries' runs interleaved (as in
bench_core.py) so that load on the machine hits both alike. The ratios, not the absolute times,
are the result.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import sys
import time

import numpy as np

import hypergrad as hg

try:
    import torch
except ImportError:  # pragma: no cover
    sys.exit("these benchmarks compare against torch: pip install torch==2.13.0")

torch.set_num_threads(1)

SIZES = {"small": 8, "medium": 128}


def best_of(fns, repeats=7, number=1):
    """Best time of each function (per call, over `number` calls), their runs interleaved so
    that load on the machine hits both libraries alike."""
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / number)
    return best


def _sum_of_outputs(lib, outputs, weights):
    """sum(W_i * output_i) over the differentiable outputs (for svd: U, S and Vh)."""
    if not isinstance(outputs, tuple):
        outputs = (outputs,)
    return sum((out * w).sum() for out, w in zip(outputs, weights))


# Each op: (function of the library and the input tensors, how to build the inputs).
def _matrix(rng, n):
    return rng.uniform(-1, 1, (n, n)) + n * np.eye(n)    # well-conditioned


def _symmetric(rng, n):
    a = rng.uniform(-1, 1, (n, n))
    return a + a.T + np.diag(np.arange(n) * 2.0)         # separated eigenvalues


OPS = {
    "inv": (lambda lib, a: lib.linalg.inv(a), lambda rng, n: [_matrix(rng, n)]),
    "solve": (lambda lib, a, b: lib.linalg.solve(a, b),
              lambda rng, n: [_matrix(rng, n), rng.standard_normal((n, 4))]),
    "det": (lambda lib, a: lib.linalg.det(a),
            lambda rng, n: [_matrix(rng, n) / n ** 0.5]),     # det stays in range
    "svd": (lambda lib, a: tuple(lib.linalg.svd(a, full_matrices=False)),
            lambda rng, n: [_matrix(rng, n)]),
    "eigh": (lambda lib, a: tuple(lib.linalg.eigh(a)), lambda rng, n: [_symmetric(rng, n)]),
    "einsum": (lambda lib, a, b: lib.einsum("ij,jk->ik", a, b),
               lambda rng, n: [rng.standard_normal((n, n)), rng.standard_normal((n, n))]),
    "matmul": (lambda lib, a, b: a @ b,
               lambda rng, n: [rng.standard_normal((n, n)), rng.standard_normal((n, n))]),
}


def bench_op(name, n):
    """Best seconds per forward+backward step of op `name` on n x n float64 inputs."""
    fn, make = OPS[name]
    rng = np.random.default_rng(0)
    arrays = make(rng, n)
    with torch.no_grad():
        outputs = fn(torch, *[torch.tensor(a) for a in arrays])
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    weights = [rng.standard_normal(tuple(o.shape)) for o in outputs]
    steps = {}
    for label, lib in (("torch", torch), ("hypergrad", hg)):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        w = [lib.tensor(x) for x in weights]

        def step(lib=lib, inputs=inputs, w=w):
            for x in inputs:
                x.grad = None
            _sum_of_outputs(lib, fn(lib, *inputs), w).backward()

        steps[label] = step
    number = 20 if n <= 16 else 2
    return best_of(steps, number=number)


def main(names):
    unknown = [n for n in names if n not in OPS]
    if unknown:
        sys.exit(f"unknown op(s) {unknown}; choose from {sorted(OPS)}")
    print(f"forward + backward per step, float64, 1 thread "
          f"(torch {torch.__version__}, numpy {np.__version__})")
    header = f"{'op':8} {'size':>8} {'torch':>12} {'hypergrad':>12} {'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name in names:
        for n in SIZES.values():
            times = bench_op(name, n)
            ratio = times["hypergrad"] / times["torch"]
            print(f"{name:8} {f'{n}x{n}':>8} {times['torch'] * 1e6:>10.1f}us "
                  f"{times['hypergrad'] * 1e6:>10.1f}us {ratio:>7.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:] or list(OPS))
