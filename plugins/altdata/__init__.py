"""Alternative data (on-chain, macro, sentiment, event calendar), merged point-in-time.

Every series carries ``available_at`` (observation time + the source's publication lag) and
is merged onto candles backward-as-of on the candle's *close* time, the same way in
backtesting, FreqAI training and dry-run/live (see ``merge.merge_point_in_time``).

News headlines (CryptoPanic, outlets' RSS feeds) are events rather than a series: ``news``
keeps them, scores them (VADER offline; the LLM scorer lives in ``plugins.llm.news_scorer``)
and turns them into point-in-time features per pair and candle.
"""
