"""Leaf modules every other package may use: errors, settings, vocabulary terms, identities,
bundled resources, labels, the outbound-request rules and the cyclic-collector pause.

Nothing here imports another package of the registry.
"""
