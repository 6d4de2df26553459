"""The rules as they evolve: rules versions and the version in force, proposals (checks,
consultation, adoption), their impact on stored records, and the vocabulary and shapes as
readable, versioned documentation with what changed between versions.
"""
