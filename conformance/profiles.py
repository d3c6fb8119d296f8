"""Hypothesis profiles for the conformance suite: `fast`, `ci` and `thorough`.

- `fast` (the default for a developer): few examples per check, hypothesis' example database
  on, so a failure found once is replayed first next time.
- `ci`: derandomized (every run draws the same examples, seeded per op and check), no
  database, and an example count small enough that every built-in op runs every check within
  the CI time budget.
- `thorough`: many examples per check, for a release or after changing an op.

`register_profiles()` registers the three (it is what `tests/conftest.py` and the opt-in pytest
plugin call); `select_profile()` loads `ci` when the environment variable CI is set, or the
profile HYPOTHESIS_PROFILE names, and otherwise `fast` (HyperGrad's own test suite passes
`default="ci"`: see tests/conftest.py).

The number of examples the conformance suite runs *per check* is the profile's `max_examples`,
unless HYPERGRAD_CONFORMANCE_EXAMPLES (or `--examples` on the command line) says otherwise.
"""

from __future__ import annotations

import os

__all__ = ["PROFILES", "examples_per_check", "register_profiles", "select_profile"]

EXAMPLES_VARIABLE = "HYPERGRAD_CONFORMANCE_EXAMPLES"

# name -> (max_examples, derandomize, use the example database)
PROFILES = {
    "fast": (10, False, True),
    "ci": (10, True, False),
    "thorough": (200, False, True),
}


def register_profiles(replace=True):
    """Register the `fast`, `ci` and `thorough` profiles with hypothesis.

    With `replace=False` a profile of the same name that is already registered (a project's
    own `ci`, say) is kept.
    """
    from hypothesis import HealthCheck, settings

    for name, (max_examples, derandomize, use_database) in PROFILES.items():
        if not replace and _is_registered(name):
            continue
        options = {"max_examples": max_examples, "deadline": None, "derandomize": derandomize,
                   "suppress_health_check": [HealthCheck.too_slow,
                                             HealthCheck.data_too_large]}
        if not use_database:
            options["database"] = None
        settings.register_profile(name, **options)


def _is_registered(name):
    """Whether a project registered profile `name` (Hypothesis' own built-in `ci` profile,
    100 examples per test, does not count: it would make the conformance suite run ten
    times longer than our `ci`)."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    try:
        profile = settings.get_profile(name)
    except InvalidArgument:
        return False
    return not (name == "ci" and repr(profile) == repr(_hypothesis_builtin_ci()))


def _hypothesis_builtin_ci():
    try:
        from hypothesis._settings import CI
    except ImportError:        # a Hypothesis without a built-in ci profile
        return None
    return CI


def select_profile(default="fast"):
    """Load and return the profile's name: HYPOTHESIS_PROFILE, else `ci` under CI, else
    `default`."""
    from hypothesis import settings

    name = os.environ.get("HYPOTHESIS_PROFILE") or (
        "ci" if os.environ.get("CI", "").lower() not in ("", "0", "false", "no") else default)
    settings.load_profile(name)
    return name


def examples_per_check(default=None):
    """How many examples each check runs: HYPERGRAD_CONFORMANCE_EXAMPLES, else `default`,
    else the current hypothesis profile's max_examples."""
    value = os.environ.get(EXAMPLES_VARIABLE)
    if value:
        return int(value)
    if default is not None:
        return default
    from hypothesis import settings

    return settings.default.max_examples
