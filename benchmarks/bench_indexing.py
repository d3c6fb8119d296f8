"""Indexing benchmarks: HyperGrad against torch in the same run, one thread each.

    python benchmarks/bench_indexing.py                 # all of them
    python benchmarks/bench_indexing.py gather setitem  # a subset

Each benchmark is one forward and backward on (1000, 64) float32 data that requires grad:

    getitem_int   x[idx] with an int64 tensor of 1000 row indices (repeats included)
    getitem_mask  x[mask] with a bool mask keeping about half the elements
    gather        x.gather(1, idx) with a (1000, 16) index
    scatter_add   zeros.scatter_add(1, idx, src) with a (1000, 16) index and src
    index_add     zeros.index_add(0, idx, src) with 1000 row indices into 500 rows
    setitem       y = x * 1; y[idx] = v (1000 distinct rows of x set from v, a (1000, 64)
                  tensor that requires grad), then backward to x and v
    masked_select x.masked_select(mask) with the same mask as getitem_mask
    index_put     zeros.index_put((idx,), x, accumulate=True) with getitem_int's 1000 row
                  indices (repeats add up)

Timings interleave the two libraries (bench_core.best_of) and report the best of several
repeats; the ratio HyperGrad / torch is the result.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import sys
from pathlib import Path

import numpy as np

import hypergrad as hg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import best_of, torch

ROWS, COLS = 1000, 64
rng = np.random.default_rng(0)
DATA = rng.standard_normal((ROWS, COLS)).astype(np.float32)
ROW_INDEX = rng.integers(0, ROWS, ROWS)              # repeats included
DISTINCT_ROWS = rng.permutation(ROWS)
MASK = rng.random((ROWS, COLS)) > 0.5
COL_INDEX = rng.integers(0, COLS, (ROWS, 16))
SRC16 = rng.standard_normal((ROWS, 16)).astype(np.float32)
HALF_INDEX = rng.integers(0, ROWS // 2, ROWS)


def _inputs(lib):
    """The same arrays as `lib` tensors (x and the sources require grad)."""
    def tensor(array, grad=False):
        t = lib.tensor(array)
        return t.requires_grad_() if grad else t

    return {"x": tensor(DATA, True), "row": tensor(ROW_INDEX), "rows": tensor(DISTINCT_ROWS),
            "mask": tensor(MASK), "col": tensor(COL_INDEX), "src16": tensor(SRC16, True),
            "half": tensor(HALF_INDEX), "v": tensor(DATA[::-1].copy(), True)}


def getitem_int(lib, t):
    t["x"][t["row"]].sum().backward()


def getitem_mask(lib, t):
    t["x"][t["mask"]].sum().backward()


def gather(lib, t):
    t["x"].gather(1, t["col"]).sum().backward()


def scatter_add(lib, t):
    lib.zeros(ROWS, COLS).scatter_add(1, t["col"], t["src16"]).sum().backward()


def index_add(lib, t):
    lib.zeros(ROWS // 2, COLS).index_add(0, t["half"], t["x"]).sum().backward()


def setitem(lib, t):
    y = t["x"] * 1
    y[t["rows"]] = t["v"]
    y.sum().backward()


def masked_select(lib, t):
    t["x"].masked_select(t["mask"]).sum().backward()


def index_put(lib, t):
    lib.zeros(ROWS, COLS).index_put((t["row"],), t["x"], accumulate=True).sum().backward()


BENCHMARKS = {f.__name__: f for f in (getitem_int, getitem_mask, gather, scatter_add,
                                      index_add, setitem, masked_select, index_put)}


def _repeated(step, lib, calls):
    tensors = _inputs(lib)

    def run():
        for _ in range(calls):
            step(lib, tensors)

    return run


def bench(step, calls=20):
    fns = {name: _repeated(step, lib, calls) for name, lib in (("torch", torch),
                                                               ("hypergrad", hg))}
    return {name: seconds / calls for name, seconds in best_of(fns, repeats=7).items()}


def main(argv=None):
    which = (argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    print(f"hypergrad {hg.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
          f"1 thread each; forward + backward on ({ROWS}, {COLS}) float32")
    print(f"{'benchmark':14} {'torch':>10} {'hypergrad':>12} {'ratio':>7}")
    ratios = {}
    for name in which:
        result = bench(BENCHMARKS[name])
        ratios[name] = result["hypergrad"] / result["torch"]
        print(f"{name:14} {result['torch'] * 1e6:7.0f} us {result['hypergrad'] * 1e6:9.0f} us "
              f"{ratios[name]:6.1f}x")
    return ratios


if __name__ == "__main__":
    main()
