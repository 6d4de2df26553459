"""Benchmarks of the registry against the alternatives a user would pick instead.

Run ``python -m bench``; see ``bench/__main__.py`` for the options and ``docs/performance.md``
for the results and what they mean.
"""
