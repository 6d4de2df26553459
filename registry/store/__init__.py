"""Where records are kept: the journal (the system of record, SQLite or PostgreSQL), the
indexes derived from it (embedded Oxigraph or any SPARQL 1.1 store), and personal values
sealed per data subject inside the journal.
"""
