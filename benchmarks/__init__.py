"""Speed and memory benchmarks of crmsim.

``python -m benchmarks.run`` (or ``crmsim bench``) times the vectorised
:class:`~crmsim.engine.model.CRMModel` against :mod:`benchmarks.per_agent`, an
idiomatic one-agent-per-customer Mesa model of the same lifecycle rules, and
measures the peak memory of a large run in a separate process
(:mod:`benchmarks.memory`).
"""
