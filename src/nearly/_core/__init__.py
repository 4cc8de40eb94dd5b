"""The framework-free comparison core: walking nested structures (``tree``), the chunked
numeric engine that decides every element exactly (``engine``), resolved options
(``options``), the leaf comparators producing records (``compare``) and the diagnoses of
likely causes (``diagnose``).

May import: ``nearly._prim``, ``nearly.backends``, ``nearly._tolerance``, ``nearly._report``
(the record types). Names no framework: framework values reach it as backend leaves.
"""
