"""Leaf modules every other package may use: errors, settings, vocabulary terms, identities,
bundled resources, labels, the outbound-request rules and the cyclic-collector pause, and the
pieces written once: the clock, record IRIs, ActivityStreams objects and media types.

Nothing here imports another package of the registry.
"""
