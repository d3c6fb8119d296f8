"""HyperGrad's hypothesis profiles for the conformance checks: `fast` by default (a few
examples per check), `ci` when the environment variable CI is set (derandomized), or the one
HYPOTHESIS_PROFILE names (`thorough` for many examples)."""

from hypergrad.conformance.profiles import register_profiles, select_profile

register_profiles(replace=False)
select_profile()
