"""The FDI registry's domain: records, rules, journal and index.

This package never imports the web framework or the command-line library (see
``tests/test_layers.py``); ``api/`` calls into it, never the reverse.
"""

__version__ = "0.1.0"
