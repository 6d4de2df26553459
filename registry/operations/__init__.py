"""Running the registry: backup, restore and replay, endpoint monitoring, the demo data,
erasure of personal data, derived state checked against the journal, and refusal counts.
"""
