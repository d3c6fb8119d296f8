"""`python -m hypergrad.conformance`: the `conformance` and `diff` commands on their own."""

import sys

from .cli import main

sys.exit(main())
