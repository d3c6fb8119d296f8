"""The built-in op plugins, one module per family; imported as `hypergrad.ops`.

Each module is a plugin in its own right, named by an entry point in HyperGrad's own
pyproject.toml and loaded exactly like a third-party plugin (hypergrad/plugins/manager.py).
Importing this package does not import the families.
"""
