"""hypergrad.nn: layers, losses and the Module system, with PyTorch's interface.

`Module` (module.py) is the base class; `Parameter` (parameter.py) marks the tensors a module
trains. Layers hold parameters and call the functions of `hypergrad.nn.functional` (provided
by the "nn" op plugin, hypergrad/ops/nn.py). `init` has the weight initializations and
`utils` gradient clipping.

    >>> import hypergrad as hg
    >>> model = hg.nn.Sequential(hg.nn.Linear(2, 8), hg.nn.ReLU(), hg.nn.Linear(8, 1))
    >>> model(hg.randn(4, 2)).shape
    hypergrad.Size([4, 1])
"""

from . import functional, init, utils
from .activation import (
                         CELU,
                         ELU,
                         GELU,
                         SELU,
                         Hardtanh,
                         LeakyReLU,
                         LogSigmoid,
                         LogSoftmax,
                         Mish,
                         MultiheadAttention,
                         ReLU,
                         ReLU6,
                         Sigmoid,
                         SiLU,
                         Softmax,
                         Softmin,
                         Softplus,
                         Softsign,
                         Tanh,
                         Tanhshrink,
)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout, Dropout1d, Dropout2d
from .linear import Bilinear, Flatten, Identity, Linear, Unflatten
from .loss import (
                         BCELoss,
                         BCEWithLogitsLoss,
                         CosineEmbeddingLoss,
                         CrossEntropyLoss,
                         HuberLoss,
                         KLDivLoss,
                         L1Loss,
                         MarginRankingLoss,
                         MSELoss,
                         NLLLoss,
                         SmoothL1Loss,
)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .parameter import Buffer, Parameter
from .pooling import (
                         AdaptiveAvgPool1d,
                         AdaptiveAvgPool2d,
                         AvgPool1d,
                         AvgPool2d,
                         MaxPool1d,
                         MaxPool2d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .sparse import Embedding

__all__ = [
                         "CELU",
                         "ELU",
                         "GELU",
                         "GRU",
                         "LSTM",
                         "RNN",
                         "SELU",
                         "AdaptiveAvgPool1d",
                         "AdaptiveAvgPool2d",
                         "AvgPool1d",
                         "AvgPool2d",
                         "BCELoss",
                         "BCEWithLogitsLoss",
                         "BatchNorm1d",
                         "BatchNorm2d",
                         "Bilinear",
                         "Buffer",
                         "Conv1d",
                         "Conv2d",
                         "ConvTranspose1d",
                         "ConvTranspose2d",
                         "CosineEmbeddingLoss",
                         "CrossEntropyLoss",
                         "Dropout",
                         "Dropout1d",
                         "Dropout2d",
                         "Embedding",
                         "Flatten",
                         "GRUCell",
                         "GroupNorm",
                         "Hardtanh",
                         "HuberLoss",
                         "Identity",
                         "KLDivLoss",
                         "L1Loss",
                         "LSTMCell",
                         "LayerNorm",
                         "LeakyReLU",
                         "Linear",
                         "LogSigmoid",
                         "LogSoftmax",
                         "MSELoss",
                         "MarginRankingLoss",
                         "MaxPool1d",
                         "MaxPool2d",
                         "Mish",
                         "Module",
                         "ModuleDict",
                         "ModuleList",
                         "MultiheadAttention",
                         "NLLLoss",
                         "Parameter",
                         "ParameterDict",
                         "ParameterList",
                         "RNNCell",
                         "ReLU",
                         "ReLU6",
                         "Sequential",
                         "SiLU",
                         "Sigmoid",
                         "SmoothL1Loss",
                         "Softmax",
                         "Softmin",
                         "Softplus",
                         "Softsign",
                         "Tanh",
                         "Tanhshrink",
                         "Unflatten",
                         "functional",
                         "init",
                         "utils",
]
