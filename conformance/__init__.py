"""hypergrad.conformance: every op checked against torch.autograd.

`domains` (plain Python) is what op plugins import to declare their inputs; the checks, the
runner and the reports import hypothesis and torch only when used.
"""
