"""hypergrad.linalg: linear algebra, mirroring `torch.linalg`.

The functions here are op plugins (hypergrad/ops/linalg.py and third-party plugins); they are
bound into this module when their plugin registers, under names such as "linalg.vector_norm".
"""


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (`torch.linalg.LinAlgError`).

    Raised, as in torch, when LAPACK reports that the input does not allow the computation:
    a singular matrix to invert or solve with, a matrix that is not positive-definite for
    cholesky, an SVD of a matrix with non-finite values. It is a RuntimeError, so code that
    catches RuntimeError catches it too.
    """
