"""The registry's interfaces: HTTP (REST, SPARQL, pages) and the ``fdi`` command line."""
