"""`python -m hypergrad`: the same as the `hypergrad` command (hypergrad/cli.py)."""

import sys

from hypergrad.cli import main

sys.exit(main())
