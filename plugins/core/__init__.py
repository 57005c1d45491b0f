"""Core helpers shared by every plugin: errors, atomic file writes, backtest result access."""
