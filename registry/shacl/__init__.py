"""The published rules applied: the compiled SHACL engine (components, SHACL-SPARQL),
validation reports in providers' terms, deprecations and revalidation of stored records.
"""
