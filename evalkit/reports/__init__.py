"""Report writers. Each takes only a :class:`~evalkit.runner.Comparison`."""
