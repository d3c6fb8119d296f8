"""Data types, the default dtype, and PyTorch's type-promotion rules.

A `dtype` is a small immutable object (`hypergrad.float32`) that wraps the numpy dtype holding
the data and knows its *category*: bool < integer < floating < complex.

Note [Type promotion is not numpy's]
    numpy and PyTorch disagree on what `int32_tensor + 1.5` or `float32 + float64_scalar` should
    be. HyperGrad follows PyTorch (`torch.result_type`, c10/core/ScalarType.h and
    aten/src/ATen/native/TypeProperties.cpp):

    1. Operands fall in three priority groups: tensors with dimensions, 0-dim tensors, and Python
       numbers ("wrapped numbers").
    2. The result starts as the promotion of the dimensioned tensors. A 0-dim tensor participates
       only if its category is higher than the result's so far; a Python number only if its
       category is higher than every tensor's, and then it contributes the *default* dtype of its
       category (float -> the default float dtype, int -> int64, complex -> complex64 for a
       float32 default).
    3. Within a category the usual lattice applies (uint8 + int8 -> int16, float16 + float32 ->
       float32); values are never inspected.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
    "complex64", "complex128", "half", "float", "double", "short", "int", "long", "cfloat",
    "cdouble", "get_default_dtype", "set_default_dtype", "promote_types", "result_type",
    "can_cast", "from_numpy_dtype", "to_dtype",
]

_BOOL, _INTEGER, _FLOATING, _COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type, the counterpart of `torch.dtype`.

    Attributes mirror torch's: `is_floating_point`, `is_complex`, `is_signed`, `itemsize`.
    `numpy` is the numpy dtype HyperGrad stores the data in.
    """

    __slots__ = ("name", "numpy", "category", "itemsize", "is_signed", "_tensor_type")

    def __init__(self, name, numpy_dtype, category, tensor_type):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.category = category
        self.itemsize = self.numpy.itemsize
        self.is_signed = self.numpy.kind in "ifc"
        self._tensor_type = tensor_type

    @property
    def is_floating_point(self):
        return self.category == _FLOATING

    @property
    def is_complex(self):
        return self.category == _COMPLEX

    def __repr__(self):
        return f"hypergrad.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


bool = dtype("bool", np.bool_, _BOOL, "BoolTensor")  # noqa: A001 - torch's name
uint8 = dtype("uint8", np.uint8, _INTEGER, "ByteTensor")
int8 = dtype("int8", np.int8, _INTEGER, "CharTensor")
int16 = dtype("int16", np.int16, _INTEGER, "ShortTensor")
int32 = dtype("int32", np.int32, _INTEGER, "IntTensor")
int64 = dtype("int64", np.int64, _INTEGER, "LongTensor")
float16 = dtype("float16", np.float16, _FLOATING, "HalfTensor")
float32 = dtype("float32", np.float32, _FLOATING, "FloatTensor")
float64 = dtype("float64", np.float64, _FLOATING, "DoubleTensor")
complex64 = dtype("complex64", np.complex64, _COMPLEX, "ComplexFloatTensor")
complex128 = dtype("complex128", np.complex128, _COMPLEX, "ComplexDoubleTensor")

# torch's aliases
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
cfloat, cdouble = complex64, complex128

ALL_DTYPES = (bool, uint8, int8, int16, int32, int64, float16, float32, float64, complex64,
              complex128)
FLOATING_DTYPES = (float16, float32, float64)
INTEGER_DTYPES = (uint8, int8, int16, int32, int64)

_BY_NUMPY = {d.numpy: d for d in ALL_DTYPES}
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64,
                cfloat=complex64, cdouble=complex128)


def from_numpy_dtype(np_dtype):
    """The HyperGrad dtype that stores data of numpy dtype `np_dtype`."""
    try:
        return _BY_NUMPY[np_dtype]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).name}. The only supported "
            "types are: float64, float32, float16, complex64, complex128, int64, int32, int16, "
            "int8, uint8, and bool.") from None


def to_dtype(value):
    """Accept a HyperGrad dtype, its name, a numpy dtype or a Python type; return a `dtype`."""
    if isinstance(value, dtype):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    if value is builtins_float:  # torch reads the Python type as double, whatever the default
        return float64
    if value is builtins_complex:
        return complex128
    if value is builtins_int:
        return int64
    if value is builtins_bool:
        return bool
    try:
        return from_numpy_dtype(np.dtype(value))
    except TypeError:
        raise TypeError(f"expected a hypergrad dtype (such as hypergrad.float32), got {value!r}") \
            from None


import builtins as _builtins  # noqa: E402  (after the dtype names shadow the builtins)

builtins_float, builtins_int, builtins_bool, builtins_complex, builtins_min = (
    _builtins.float, _builtins.int, _builtins.bool, _builtins.complex, _builtins.min)

# ----------------------------------------------------------------------------------------------
# The default dtype
# ----------------------------------------------------------------------------------------------
_default = [float32]


def get_default_dtype():
    """The dtype of floating tensors created from Python floats (`torch.get_default_dtype`)."""
    return _default[0]


def set_default_dtype(d):
    """Set the default floating dtype (`torch.set_default_dtype`); float32 or float64 only."""
    d = to_dtype(d)
    if d not in (float16, float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


def default_complex_dtype():
    return complex128 if _default[0] is float64 else complex64


# ----------------------------------------------------------------------------------------------
# Promotion
# ----------------------------------------------------------------------------------------------
def promote_types(a, b):
    """The smallest dtype both `a` and `b` can be cast to (`torch.promote_types`).

    Like numpy within a category (uint8 + int8 -> int16), but a floating or complex dtype
    absorbs any integer: int64 + float16 -> float16 (numpy would say float64).
    """
    if a is b:
        return a
    if a.category != b.category and builtins_min(a.category, b.category) <= _INTEGER:
        return a if a.category > b.category else b
    return _BY_NUMPY[np.promote_types(a.numpy, b.numpy)]


def _scalar_dtype(value):
    """The dtype a Python number contributes when it decides the result (rule 2)."""
    if isinstance(value, builtins_bool):
        return bool
    if isinstance(value, builtins_int):
        return int64
    if isinstance(value, builtins_float):
        return _default[0]
    if isinstance(value, builtins_complex):
        return default_complex_dtype()
    if isinstance(value, np.generic):
        # as torch reads numpy scalars: integers are ints, and every other one that is not a
        # Python float or complex subclass (np.float32, np.bool_, np.complex64) is a float
        return int64 if value.dtype.kind in "iu" else _default[0]
    raise TypeError(f"expected a Tensor or a Python number, got {type(value).__name__}")


def result_type(*operands):
    """The dtype an elementwise op on `operands` computes in (`torch.result_type`).

    Each operand is a Tensor, a numpy array (treated as a tensor) or a Python number. See
    Note [Type promotion is not numpy's] above; the groups combine as in torch's
    `combine_categories` (aten/src/ATen/native/TypeProperties.cpp).
    """
    dim_result = zero_dim_result = scalar_result = None
    for value in operands:
        data = getattr(value, "_data", value)
        if isinstance(data, np.ndarray):
            d = _BY_NUMPY[data.dtype]
            if data.ndim:
                dim_result = _promote_or_first(dim_result, d)
            else:
                zero_dim_result = _promote_or_first(zero_dim_result, d)
        elif value is not None:
            scalar_result = _promote_or_first(scalar_result, _scalar_dtype(value))
    if dim_result is None and zero_dim_result is None and scalar_result is None:
        raise TypeError("result_type needs at least one operand")
    return _combine_categories(dim_result, _combine_categories(zero_dim_result, scalar_result))


def _promote_or_first(result, d):
    return d if result is None else promote_types(result, d)


def _combine_categories(higher, lower):
    """Combine a higher-priority group's dtype with a lower one's (None = no operand).

    The lower group matters only through a higher category: a complex lower group makes a
    floating higher one complex of the same width; a floating lower group turns an integer
    or bool higher one into `promote_types` of the two; a bool higher group yields to an
    integer lower one. Otherwise the higher group's dtype stands.
    """
    if higher is None:
        return lower
    if lower is None or higher.category == _COMPLEX:
        return higher
    if lower.category == _COMPLEX:
        return _to_complex(higher) if higher.category == _FLOATING else lower
    if higher.category == _FLOATING:
        return higher
    if higher is bool or lower.category == _FLOATING:
        return promote_types(higher, lower)
    return higher


def _to_complex(d):
    """The complex dtype with `d`'s precision (float16 has no complex32 here: complex64)."""
    return complex128 if d is float64 else complex64


def can_cast(from_, to):
    """Whether an in-place op may write a `from_` result into a `to` tensor (`torch.can_cast`).

    torch allows any cast that does not lower the category (float -> int is refused).
    """
    return from_.category <= to.category
