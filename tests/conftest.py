"""Shared pytest configuration.

Hypothesis profiles (hypergrad/conformance/profiles.py): `fast` by default, `ci` when the
environment variable CI is set (derandomized, no example database, few examples per check,
so the whole suite fits CI's time), or whatever HYPOTHESIS_PROFILE names (`thorough` for many
examples). `pytest --hypothesis-profile NAME` overrides all of these.
"""

from hypergrad.conformance.profiles import register_profiles, select_profile

register_profiles()
select_profile()
