"""Metrics: the protocol (:mod:`.base`), the lazy registry (:mod:`.registry`)
and the built-in metrics, each imported only when used."""
