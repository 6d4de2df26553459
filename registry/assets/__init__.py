"""BUC.2, common asset registration: flexible assets and rights to operate, bulk jobs,
attestations, claims to operate another's asset, and the capacity aggregates kept by every
write.
"""
