"""The Open Energy Trust Framework: organisations and their verification, schemes, roles,
memberships, people, the certificate authority and certificates, authentication, the
authorisation server and access tokens, permissions, how a requester stands to a record,
and the log of reads of another organisation's records.
"""
