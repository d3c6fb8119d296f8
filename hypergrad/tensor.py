"""Tensor: an n-dimensional array that can remember how it was computed.

Mirrors torch/_tensor.py and the autograd parts of c10/core/TensorImpl.h and
torch/csrc/autograd/variable.{h,cpp}.

A Tensor holds:
- `_data`, a numpy array with the values;
- `_requires_grad`, whether gradients flow to it; true for a leaf the user flagged and for
  every output of a recorded operation;
- `_grad_fn` and `_output_nr`, the Node that produced it and which of that node's outputs it
  is (None for a leaf). Its *gradient edge* is `(grad_fn, output_nr)`, or
  `(AccumulateGrad, 0)` for a leaf that requires grad (`gradient_edge` below);
- `_version_counter`, shared with its views and bumped by every in-place op (see Note [Saved
  tensors and the version counter] in autograd/saved.py);
- `_grad`, the accumulated gradient of a leaf (or of a non-leaf after `retain_grad()`).

Operations (`+`, `sum`, `reshape`, ...) are not written here: every one is an op plugin
(`hypergrad/ops/`) and is bound onto this class when the plugin registers.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import dtypes as _dtypes
from ._tensor_str import tensor_repr
from .autograd import grad_mode as _grad_mode
from .autograd.node import AccumulateGrad, RemovableHandle, INVALID_EDGE

__all__ = ["Tensor", "Size", "tensor", "as_tensor", "from_numpy", "is_tensor", "gradient_edge"]

_grad_state = _grad_mode._state
_new_tensor = object.__new__


class Size(tuple):
    """A tensor's shape: a tuple that prints like torch.Size."""

    __slots__ = ()

    def __repr__(self):
        return f"hypergrad.Size({list(self)})"

    def __getitem__(self, index):
        value = tuple.__getitem__(self, index)
        return Size(value) if isinstance(index, slice) else value

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(self) + other)

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(other + tuple(self))

    def __mul__(self, times):
        return Size(tuple(self) * times)

    __rmul__ = __mul__

    def numel(self):
        """The number of elements a tensor of this shape has (`torch.Size.numel`)."""
        n = 1
        for size in self:
            n *= size
        return n


class VersionCounter:
    """How many in-place changes a tensor's data has seen (c10's VariableVersion).

    Views share their base's counter, because they share its memory.
    """

    version = 0  # the class default; an instance holds its own value from its first bump

    def bump(self):
        self.version += 1


# torch words the same error three ways, depending on how requires_grad was asked for
_FACTORY_DTYPE_MESSAGE = ("Only Tensors of floating point and complex dtype can require "
                          "gradients")
_SETTER_DTYPE_MESSAGE = "only Tensors of floating point and complex dtype can require gradients"
_METHOD_DTYPE_MESSAGE = "only Tensors of floating point dtype can require gradients"

# how torch's C++ names element types in the `.grad = ...` dtype error
_CPP_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
                   "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                   "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
                   "complex128": "c10::complex<double>"}

_NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead.")


class Tensor:
    """A multi-dimensional array with autograd, the counterpart of `torch.Tensor`.

    Create tensors with `hypergrad.tensor(data)` or the factory functions (`zeros`, `randn`,
    ...). `Tensor(data)` is torch's legacy constructor: it always gives the default float dtype.
    """

    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_version_counter",
                 "_base", "_view_version", "__dict__", "__weakref__")

    # State most tensors never use lives in the instance dict once set; until then these
    # class defaults answer, so creating a tensor (once per operation) stays cheap.
    _grad = None
    _grad_accumulator = None
    _hooks = None
    _post_acc_hooks = None
    _retains_grad = False
    _creation_meta = None   # "no_grad" or "multiple" for views torch forbids changing in place

    # numpy must hand binary operators back to us (np.float64(2) * t is a Tensor)
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, *args, dtype=None, requires_grad=False, device=None):
        """torch's legacy constructor: `Tensor(data)` copies data into the default float dtype,
        `Tensor(2, 3)` (or `Tensor(Size)`) makes a tensor of that shape (zeros here)."""
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"HyperGrad runs on the CPU only; got device {device!r}")
        dtype = _dtypes.get_default_dtype() if dtype is None else _dtypes.to_dtype(dtype)
        if len(args) == 1 and isinstance(args[0], Size) or args and all(
                type(a) is int for a in args):
            array = np.zeros(tuple(args[0]) if isinstance(args[0], Size) else args, dtype.numpy)
        elif len(args) > 1:
            raise TypeError(f"new() received an invalid combination of arguments - got "
                            f"{tuple(type(a).__name__ for a in args)}")
        elif args and isinstance(args[0], (bool, float, complex)):
            raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
        else:
            array = _as_array(args[0] if args else [], dtype)
        self._init(array)
        if requires_grad:
            self._set_requires_grad(True, _FACTORY_DTYPE_MESSAGE)

    def _init(self, data, requires_grad=False):
        self._data = data
        self._requires_grad = requires_grad
        self._grad_fn = None
        self._output_nr = 0
        self._version_counter = VersionCounter()
        self._base = None

    @staticmethod
    def _make(data, requires_grad=False):
        """Wrap a numpy array without copying or checking it (the hot path)."""
        self = _new_tensor(Tensor)
        self._data = data
        self._requires_grad = requires_grad
        self._grad_fn = None
        self._output_nr = 0
        self._version_counter = VersionCounter()
        self._base = None
        return self

    # ------------------------------------------------------------------------------------------
    # Metadata
    # ------------------------------------------------------------------------------------------
    @property
    def shape(self):
        """The size of each dimension, a `Size` (`torch.Tensor.shape`)."""
        return Size(self._data.shape)

    def size(self, dim=None):
        """The shape, or the size of dimension `dim`."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim_no_scalar(dim, self._data.ndim)]

    @property
    def dtype(self):
        """The element type, a `hypergrad.dtype` (`torch.Tensor.dtype`)."""
        return _dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        """Always `device("cpu")`: HyperGrad has one device (`torch.Tensor.device`)."""
        return device("cpu")

    @property
    def is_cuda(self):
        """Always False: HyperGrad runs on the CPU (`torch.Tensor.is_cuda`)."""
        return False

    @property
    def ndim(self):
        """The number of dimensions (`torch.Tensor.ndim`)."""
        return self._data.ndim

    def dim(self):
        """The number of dimensions (`torch.Tensor.dim`)."""
        return self._data.ndim

    ndimension = dim

    def numel(self):
        """The number of elements (`torch.Tensor.numel`)."""
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        """Bytes per element (`torch.Tensor.element_size`)."""
        return self._data.itemsize

    def is_floating_point(self):
        """True for a floating-point dtype (`torch.Tensor.is_floating_point`)."""
        return self._data.dtype.kind == "f"

    def is_complex(self):
        """True for a complex dtype (`torch.Tensor.is_complex`)."""
        return self._data.dtype.kind == "c"

    def is_contiguous(self, memory_format=None):
        """True if the elements are laid out in row-major order without gaps
        (`torch.Tensor.is_contiguous`); `memory_format` is accepted and ignored."""
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim=None):
        """Steps in elements between neighbours along each dim, or along `dim`
        (`torch.Tensor.stride`); read from the numpy array's strides."""
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_wrap_dim_no_scalar(dim, self._data.ndim)]

    def data_ptr(self):
        """The address of the first element (`torch.Tensor.data_ptr`)."""
        return self._data.__array_interface__["data"][0]

    def get_device(self):
        """-1, the CPU's device index (`torch.Tensor.get_device`)."""
        return -1

    # ------------------------------------------------------------------------------------------
    # Autograd state
    # ------------------------------------------------------------------------------------------
    @property
    def requires_grad(self):
        """Whether autograd records operations on this tensor (`torch.Tensor.requires_grad`).

        Settable on leaves; only floating-point and complex tensors can require grad.
        """
        if self._base is not None and _op_module.views_rebased[0]:
            refresh_view_grad_fn(self)   # a view of a base changed in place since
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self._set_requires_grad(value, _SETTER_DTYPE_MESSAGE)

    def requires_grad_(self, requires_grad=True):
        """Set whether autograd records operations on this leaf; returns self."""
        return self._set_requires_grad(requires_grad, _METHOD_DTYPE_MESSAGE)

    def _set_requires_grad(self, requires_grad, dtype_message):
        """`requires_grad_`, the setter and the factories' `requires_grad=True` (each has
        torch's own wording for the dtype error)."""
        if self._grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(dtype_message)
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        """The Node that created this tensor (None for leaves)."""
        if self._base is not None and _op_module.views_rebased[0]:
            refresh_view_grad_fn(self)   # its base changed in place since it was made
        return self._grad_fn

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded operation (no `grad_fn`)."""
        return self._grad_fn is None

    @property
    def output_nr(self):
        """Which output of its `grad_fn` this tensor is (0 for leaves; `torch.Tensor.output_nr`)."""
        return self._output_nr

    @property
    def grad(self):
        """The gradient accumulated by backward; None until then (and for non-leaves)."""
        if self._grad_fn is not None and not self._retains_grad and self._grad is None:
            import warnings

            warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype "
                    f"'{_CPP_TYPE_NAMES[value._data.dtype.name]}' to a tensor with grad_dtype "
                    f"'{self.dtype._tensor_type[:-len('Tensor')]}'. The gradient must match the "
                    "tensor's grad_dtype (defaults to the tensor's dtype). You can set the "
                    "tensor's grad_dtype attribute with a specific dtype, or None to allow any "
                    "dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its "
                    "gradient may break downstream systems that assume they match.")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def retains_grad(self):
        """True after `retain_grad()` on a non-leaf (`torch.Tensor.retains_grad`)."""
        return self._retains_grad

    @property
    def _version(self):
        return self._version_counter.version

    @property
    def _is_view(self):
        return self._base is not None

    def is_view(self):
        """True if this tensor is a view sharing another tensor's memory (`_base`)."""
        return self._base is not None

    def _grad_accumulator_node(self):
        """This leaf's AccumulateGrad, created on first use and held weakly (see node.py)."""
        ref = self._grad_accumulator
        node = ref() if ref is not None else None
        if node is None:
            node = AccumulateGrad(self)
            self._grad_accumulator = weakref.ref(node)
        return node

    def detach(self):
        """A new leaf sharing this tensor's data and version counter, outside the graph."""
        out = Tensor._make(self._data)
        out._version_counter = self._version_counter
        return out

    def detach_(self):
        """Make this tensor a leaf that does not require grad, in place."""
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                "as True, gradients are views of DDP buckets, and hence detach_() cannot be "
                "called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self._grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        return self

    @property
    def data(self):
        """A tensor sharing this one's memory, unseen by autograd (changes are not tracked)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(value).__name__}")
        self._data = value._data
        accumulator = self._grad_accumulator() if self._grad_accumulator is not None else None
        if accumulator is not None:
            accumulator.refresh_metadata()

    def retain_grad(self):
        """Keep the gradient of this non-leaf in `.grad` during backward (no-op for leaves)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        ref = weakref.ref(self)

        def retain_grad_hook(grad):
            tensor = ref()
            if tensor is None or grad is None:
                return
            if tensor._grad is None:
                tensor._grad = grad.clone() if _grad_state.enabled else \
                    Tensor._make(grad._data.copy())
            else:
                tensor._grad = tensor._grad + grad

        fn = self._grad_fn
        fn._has_hooks = True
        if fn._retains_grad_hooks is None:
            fn._retains_grad_hooks = {}
        fn._retains_grad_hooks[self._output_nr] = retain_grad_hook
        self._retains_grad = True

    def register_hook(self, hook):
        """`hook(grad)` runs when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self._grad_fn is not None:
            return self._grad_fn._register_tensor_pre_hook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        """`hook(tensor)` runs after a leaf's `.grad` has been updated by backward."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = {}
        handle = RemovableHandle(self._post_acc_hooks)
        self._post_acc_hooks[handle.id] = hook
        return handle

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. the graph leaves (`torch.Tensor.backward`).

        The gradients are accumulated into the leaves' `.grad`. `gradient` is required unless
        the tensor has one element. See `hypergrad.autograd.backward`.
        """
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ------------------------------------------------------------------------------------------
    # Conversions
    # ------------------------------------------------------------------------------------------
    def numpy(self, *, force=False):
        """The data as a numpy array sharing memory (refused while the tensor requires grad)."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        """The values as (nested) Python lists of numbers (`torch.Tensor.tolist`)."""
        return self._data.tolist()

    def to(self, *args, **kwargs):
        """Return a tensor of another dtype (device "cpu" is accepted); self if nothing changes.

        `to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other_tensor)`, `to(dtype=...)`.
        """
        dtype = kwargs.pop("dtype", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        dev = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"to() got an unexpected keyword argument {next(iter(kwargs))!r}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, (str, device)):
                dev = arg
            elif arg is not None:
                dtype = arg
        if dev is not None and str(dev) != "cpu":
            raise RuntimeError(f"HyperGrad runs on the CPU only; cannot move a tensor to "
                               f"{str(dev)!r}")
        if dtype is None or _dtypes.to_dtype(dtype).numpy == self._data.dtype:
            return self.clone() if copy else self
        return self._to_copy(_dtypes.to_dtype(dtype))

    def type(self, dtype=None):
        """The type name (`"hypergrad.FloatTensor"`), or a copy of another dtype
        (`torch.Tensor.type`)."""
        if dtype is None:
            return "hypergrad." + self.dtype._tensor_type
        return self.to(dtype)

    def float(self):
        """`self.to(hypergrad.float32)` (`torch.Tensor.float`)."""
        return self.to(_dtypes.float32)

    def double(self):
        """`self.to(hypergrad.float64)` (`torch.Tensor.double`)."""
        return self.to(_dtypes.float64)

    def half(self):
        """`self.to(hypergrad.float16)` (`torch.Tensor.half`)."""
        return self.to(_dtypes.float16)

    def long(self):
        """`self.to(hypergrad.int64)` (`torch.Tensor.long`)."""
        return self.to(_dtypes.int64)

    def int(self):
        """`self.to(hypergrad.int32)` (`torch.Tensor.int`)."""
        return self.to(_dtypes.int32)

    def short(self):
        """`self.to(hypergrad.int16)` (`torch.Tensor.short`)."""
        return self.to(_dtypes.int16)

    def char(self):
        """`self.to(hypergrad.int8)` (`torch.Tensor.char`)."""
        return self.to(_dtypes.int8)

    def byte(self):
        """`self.to(hypergrad.uint8)` (`torch.Tensor.byte`)."""
        return self.to(_dtypes.uint8)

    def bool(self):
        """`self.to(hypergrad.bool)` (`torch.Tensor.bool`)."""
        return self.to(_dtypes.bool)

    def cpu(self):
        """self: HyperGrad tensors are always on the CPU (`torch.Tensor.cpu`)."""
        return self

    def type_as(self, other):
        """`self.to(other.dtype)` (`torch.Tensor.type_as`)."""
        return self.to(other.dtype)

    # ------------------------------------------------------------------------------------------
    # Factories that default to this tensor's dtype (`x.new_zeros(3)`)
    # ------------------------------------------------------------------------------------------
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new leaf with a copy of `data`, in this tensor's dtype by default
        (`torch.Tensor.new_tensor`)."""
        return tensor(data, dtype=self.dtype if dtype is None else dtype, device=device,
                      requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of `size`, in this tensor's dtype by default (`torch.Tensor.new_zeros`)."""
        from .creation import zeros

        return zeros(*size, dtype=dtype or self.dtype, device=device,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """Ones of `size`, in this tensor's dtype by default (`torch.Tensor.new_ones`)."""
        from .creation import ones

        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """`torch.Tensor.new_empty`, filled with zeros (HyperGrad never returns garbage)."""
        from .creation import empty

        return empty(*size, dtype=dtype or self.dtype, device=device,
                     requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        """`fill_value` in a tensor of `size`, in this tensor's dtype by default
        (`torch.Tensor.new_full`)."""
        from .creation import full

        return full(size, fill_value, dtype=dtype or self.dtype, device=device,
                    requires_grad=requires_grad)

    # ------------------------------------------------------------------------------------------
    # Transposes that torch offers as properties (the ops are in ops/shape.py)
    # ------------------------------------------------------------------------------------------
    @property
    def T(self):
        """The dims reversed, `x.permute(n - 1, ..., 0)` (a view). Warns unless 2-D, as torch."""
        import warnings

        ndim = self._data.ndim
        if ndim == 0:
            warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity "
                          "in these cases.", UserWarning, stacklevel=2)
        elif ndim != 2:
            warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their "
                          "shape is deprecated and it will throw an error in a future release. "
                          "Consider `x.mT` to transpose batches of matrices or `x.permute(*torch."
                          "arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.",
                          UserWarning, stacklevel=2)
        return self.permute(tuple(range(ndim - 1, -1, -1)))

    @property
    def mT(self):
        """The last two dims swapped, `x.transpose(-2, -1)`: each matrix of a batch transposed."""
        ndim = self._data.ndim
        if ndim == 0:
            import warnings

            warnings.warn("Tensor.mT is deprecated on 0-D tensors. This function is the identity "
                          "in these cases.", UserWarning, stacklevel=2)
            return self
        if ndim == 1:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               "Got 1-D tensor.")
        return self.transpose(-2, -1)

    # ------------------------------------------------------------------------------------------
    # Python protocols
    # ------------------------------------------------------------------------------------------
    def __repr__(self):
        return tensor_repr(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self):
        if self._data.size != 1:
            amount = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self._data.reshape(()))

    def _python_scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __float__(self):
        if self._requires_grad:
            import warnings

            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                          "unexpected behavior.\nConsider using tensor.detach() first.",
                          UserWarning, stacklevel=2)
        return float(self._python_scalar())

    def __int__(self):
        return int(self._python_scalar())

    def __complex__(self):
        return complex(self._python_scalar())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.reshape(()))

    __hash__ = object.__hash__

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.  If you were "
                               "attempting to deepcopy a module, this may be because of a "
                               "torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        if id(self) in memo:
            return memo[id(self)]
        new = object.__new__(type(self))
        new._init(self._data.copy(), self._requires_grad)
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        """Pickle the values and requires_grad; a non-leaf comes back as a leaf, as in torch."""
        return (_rebuild_tensor, (type(self), self._data, self._requires_grad))


def _rebuild_tensor(cls, data, requires_grad):
    new = object.__new__(cls)
    new._init(data, requires_grad)
    return new


class device:
    """`hypergrad.device("cpu")`: HyperGrad has one device, the CPU."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):  # noqa: A002 - torch's name
        if isinstance(type, device):
            type, index = type.type, type.index
        if str(type) != "cpu":
            raise RuntimeError(f"HyperGrad runs on the CPU only; got device {type!r}")
        self.type = "cpu"
        self.index = index

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        return str(other) == "cpu"

    def __hash__(self):
        return hash("cpu")


def gradient_edge(tensor):
    """Where the gradient for `tensor` must be sent (torch's `impl::gradient_edge`)."""
    if tensor._base is not None and _op_module.views_rebased[0]:
        refresh_view_grad_fn(tensor)
    fn = tensor._grad_fn
    if fn is not None:
        return (fn, tensor._output_nr)
    if tensor._requires_grad:
        return (tensor._grad_accumulator_node(), 0)
    return INVALID_EDGE


def _wrap_dim(dim, ndim):
    """A dim in [-ndim, ndim) made non-negative, with torch's IndexError otherwise."""
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-bound}, {bound - 1}], but got {dim})")
    return dim % bound


def _wrap_dim_no_scalar(dim, ndim):
    """`_wrap_dim` for size(dim)/stride(dim), which a 0-dim tensor has none of."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _wrap_dim(dim, ndim)


def _infer_dtype(value):
    """The dtype torch.tensor gives Python data: bool, int64, default float, or complex."""
    kind = value.dtype.kind
    if kind == "b":
        return _dtypes.bool
    if kind in "iu":
        return _dtypes.int64
    if kind == "f":
        return _dtypes.get_default_dtype()
    if kind == "c":
        return _dtypes.default_complex_dtype()
    raise TypeError(f"Could not infer dtype of {type(value).__name__}")


def _as_array(data, dtype=None):
    """A fresh numpy array for `tensor(data)`: copies, applies torch's dtype inference."""
    if isinstance(data, Tensor):
        array = data._data
        target = data.dtype if dtype is None else _dtypes.to_dtype(dtype)
        return np.array(array, dtype=target.numpy)
    if isinstance(data, np.ndarray):
        target = _dtypes.from_numpy_dtype(data.dtype) if dtype is None else _dtypes.to_dtype(dtype)
        return np.array(data, dtype=target.numpy)
    if isinstance(data, np.generic):
        array = np.array(data)
        target = _dtypes.from_numpy_dtype(array.dtype) if dtype is None else \
            _dtypes.to_dtype(dtype)
        return array.astype(target.numpy)
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    typed = None
    if isinstance(data, (list, tuple)):
        typed = []
        data = _unwrap_nested(data, typed)
    try:
        array = np.array(data)
    except ValueError:
        raise ValueError(_ragged_message(data)) from None
    if array.dtype == object or array.dtype.kind in "SUV":
        raise _not_a_number_error(data)
    if array.dtype == np.uint64:
        raise ValueError("Overflow when unpacking long long")
    if dtype is not None:
        target = _dtypes.to_dtype(dtype)
    elif typed:
        target = _infer_sequence_dtype(data, typed)
    elif array.size == 0 and array.dtype.kind == "f":
        target = _dtypes.get_default_dtype()
    else:
        target = _infer_dtype(array)
    return array.astype(target.numpy, copy=False)


_PYTHON_SCALAR_DTYPES = {bool: "bool", int: "int64"}


def _infer_sequence_dtype(data, typed):
    """torch's rule for a list holding numpy scalars, arrays or tensors: promote every item.

    Each item contributes its own dtype (a Python float the default dtype, an int int64, a
    bool bool; an np.float64 or a float64 tensor float64), and the result is their
    `promote_types`: `[np.float64(1), 2.0]` is float64, `[np.int16(1), np.uint8(2)]` int16.
    """
    result = None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if isinstance(item, (np.ndarray, np.generic)):
            continue
        result = _promote_or_first(result, _infer_dtype(np.array(item)))
    for d in typed:
        result = _promote_or_first(result, d)
    return result


def _promote_or_first(result, d):
    return d if result is None else _dtypes.promote_types(result, d)


def _ragged_message(data):
    """torch's message for nested lists of unequal lengths (found without recursion)."""
    sizes = []
    item = data
    while isinstance(item, (list, tuple)):
        sizes.append(len(item))
        if not item:
            break
        item = item[0]
    stack = [(data, 0)]
    while stack:
        item, dim = stack.pop()
        if dim >= len(sizes):
            if isinstance(item, (list, tuple, np.ndarray)):
                return f"too many dimensions '{type(item).__name__}'"
            continue
        if not isinstance(item, (list, tuple, np.ndarray)):
            return f"expected sequence of length {sizes[dim]} at dim {dim} (got a number)"
        if len(item) != sizes[dim]:
            return f"expected sequence of length {sizes[dim]} at dim {dim} (got {len(item)})"
        stack.extend((child, dim + 1) for child in item)
    return "expected sequences of equal length at every dimension"


def _not_a_number_error(data):
    """Why numpy could only make an object array of `data`: a non-number, or a huge int."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif not isinstance(item, (bool, int, float, complex, np.generic, np.ndarray)):
            return RuntimeError(f"Could not infer dtype of {type(item).__name__}")
        elif type(item) is int and not -2 ** 63 <= item < 2 ** 63:
            return ValueError("Overflow when unpacking long long")
    return RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _unwrap_nested(data, typed):
    """Replace Tensors inside nested lists by their values (`tensor([t1, t2])`).

    The dtypes of items that carry one (Tensors, numpy scalars and arrays) are appended to
    `typed`, for `_infer_sequence_dtype`.
    """
    out = []
    stack = [(data, out)]
    while stack:
        items, target = stack.pop()
        for item in items:
            if isinstance(item, Tensor):
                if item._data.size != 1 and item._data.ndim:
                    raise ValueError("only one element tensors can be converted to Python "
                                     "scalars")
                typed.append(item.dtype)
                target.append(item._data.reshape(()))
            elif isinstance(item, (list, tuple)):
                child = []
                target.append(child)
                stack.append((item, child))
            else:
                if isinstance(item, (np.ndarray, np.generic)):
                    typed.append(_dtypes.from_numpy_dtype(item.dtype))
                target.append(item)
    return out


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new leaf tensor with a copy of `data` (`torch.tensor`).

    `data` may be a Python number, a (nested) list or tuple, a numpy array or a Tensor. The
    dtype follows torch: Python floats give the default dtype (float32), ints give int64,
    bools give bool; a numpy array keeps its dtype.
    """
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"HyperGrad runs on the CPU only; got device {device!r}")
    if isinstance(data, Tensor):
        import warnings

        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or "
                      "sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "hypergrad.tensor(sourceTensor).", UserWarning, stacklevel=2)
    out = Tensor._make(_as_array(data, dtype))
    if requires_grad:
        out._set_requires_grad(True, _FACTORY_DTYPE_MESSAGE)
    return out


def as_tensor(data, dtype=None, device=None):
    """`data` as a tensor, sharing memory when it can (`torch.as_tensor`).

    A Tensor of the requested dtype is returned as is and a numpy array of a supported dtype
    is wrapped without a copy (like `from_numpy`); anything else is copied as by `tensor()`.
    """
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"HyperGrad runs on the CPU only; got device {device!r}")
    target = None if dtype is None else _dtypes.to_dtype(dtype)
    if isinstance(data, Tensor):
        return data if target is None or target.numpy == data._data.dtype else data.to(target)
    if isinstance(data, np.ndarray) and (target is None or target.numpy == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array):
    """A tensor that shares memory with the numpy array `array` (`torch.from_numpy`)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(array)


def is_tensor(obj):
    """True if `obj` is a HyperGrad Tensor (`torch.is_tensor`)."""
    return isinstance(obj, Tensor)


# The autograd modules need the Tensor class on their hot paths, but this module imports them
# first; hand them the class once, here, instead of importing it inside every call.
from . import autograd as _autograd  # noqa: E402
from .autograd import engine as _engine, node as _node, saved as _saved  # noqa: E402

_engine.Tensor = _node.Tensor = _saved.Tensor = _autograd.Tensor = Tensor
_autograd.Size = Size
_autograd.gradient_edge = gradient_edge
from .autograd.copy_slices import refresh_view_grad_fn  # noqa: E402
from .plugins import op as _op_module  # noqa: E402
_node._SOLE_OWNER = _node._calibrate_sole_owner()
