"""hypergrad_example: two extra ops for HyperGrad, `cube` and `softsign`, as a plugin.

Once this package is installed, `import hypergrad` loads it through its entry point (group
`hypergrad`, name `example`, module `hypergrad_example.ops`), and the ops are simply there::

    >>> import hypergrad as hg
    >>> hg.cube(hg.tensor([1.0, 2.0]))
    tensor([1., 8.])

Note [Import hypergrad first]
    HyperGrad names an op's plugin while it imports that plugin's entry-point module. If a
    user imported `hypergrad_example.ops` before HyperGrad had loaded its plugins, the ops
    would be defined outside that load and listed under the package name, not `example`.
    Importing hypergrad here, before anything else, makes the order always the same:
    HyperGrad starts, loads `example`, and only then does this package go on.
"""

import hypergrad  # noqa: F401  (see Note [Import hypergrad first])

from .ops import Cube, Softsign

__all__ = ["Cube", "Softsign"]
__version__ = "0.1.0"
