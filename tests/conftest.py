"""Shared pytest configuration.

Hypothesis profiles (hypergrad/conformance/profiles.py): this suite runs the `ci` profile unless
HYPOTHESIS_PROFILE names another (`fast` replays failures from the example database, `thorough`
draws many examples); `pytest --hypothesis-profile NAME` overrides both.

Why `ci` even on a developer's machine: the profile is derandomized and has no example database,
so every run, here or on a fresh CI machine, draws the same examples. Declared divergences are
strict (a divergence that no longer shows fails), and a divergence that shows only on some
draws would otherwise pass here, where the database replays the draw that shows it, and fail
on a clean clone, where nothing is replayed. To hunt for new failures, run
`HYPOTHESIS_PROFILE=thorough pytest` or `hypergrad conformance --profile thorough`.
"""

from hypergrad.conformance.profiles import register_profiles, select_profile

register_profiles()
select_profile(default="ci")
