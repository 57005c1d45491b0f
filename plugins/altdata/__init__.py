"""Alternative data (on-chain, macro, sentiment, event calendar), merged point-in-time.

Every series carries ``available_at`` (observation time + the source's publication lag) and
is merged onto candles backward-as-of on the candle's *close* time, the same way in
backtesting, FreqAI training and dry-run/live (see ``merge.merge_point_in_time``).
"""
