"""What lets anyone check the registry: signing keys, detached-JWS signatures, signed receipts
for every write and signed checkpoints of the journal's head.
"""
