"""Machinery that knows nothing of HLDs: processes, interrupts, the pool, files, the cache,
masking, YAML. It imports nothing of fabrikate but ``errors``, ``settings`` and ``_version``."""
