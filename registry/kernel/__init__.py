"""The registry itself, knowing no feature: transactions, register/stage/update, reads and
history, audience graphs, record lifecycles, the If-Match rule (preconditions), idempotency,
the records cross-record rules read, the audit trail and the table of authorisation rules.

Features plug in through ``registry.kernel.features.Features``; ``registry.assembly``
puts them together.
"""
