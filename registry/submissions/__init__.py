"""Reading what members submit: formats (Turtle, N-Triples, JSON-LD, JSON, CSV), normalised
spellings, records split from a submission and their IRIs, and the input limits.
"""
