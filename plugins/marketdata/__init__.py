"""Market candles for Freqtrade's data dir: copied from a local bundle or downloaded.

``python -m plugins.marketdata sync`` is what ``make data`` runs.
"""
