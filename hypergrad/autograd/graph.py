"""hypergrad.autograd.graph: the graph objects, under the names torch.autograd.graph uses."""

from .node import Node, Edge, AccumulateGrad, GraphRoot  # noqa: F401

__all__ = ["Node", "Edge", "AccumulateGrad", "GraphRoot", "increment_version"]


def increment_version(tensor):
    """Bump `tensor`'s version counter, as an in-place change would."""
    tensor._version_counter.bump()
