"""hypergrad.optim: optimizers and learning-rate schedulers (`torch.optim`).

    optimizer = hg.optim.SGD(params, lr=0.1, momentum=0.9)
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

optimizer.py holds the base class (param groups, state, zero_grad, state_dict); each algorithm
has its own file, named like torch's: sgd.py, adam.py (Adam, AdamW), rmsprop.py, adagrad.py.
lr_scheduler.py changes the learning rates of an optimizer as training goes on.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
