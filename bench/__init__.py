"""Benchmarks at national scale against the naive one-job-per-reminder design.

``python -m bench.run`` runs them all (see README, "Performance"); the modules:
``dataset`` (the synthetic national dataset), ``scene`` (the busiest morning),
``figures`` (our side), ``naive`` (the baseline), ``common`` (databases and output).
"""
