"""hypergrad.linalg: linear algebra, mirroring `torch.linalg`.

The functions here are op plugins (hypergrad/ops/linalg.py and third-party plugins); they are
bound into this module when their plugin registers, under names such as "linalg.vector_norm".
"""
