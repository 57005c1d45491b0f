"""News headlines as point-in-time alternative data.

Headlines are events, not a numeric series, so they have a frame of their own (``schema``) on
the provider contract (``plugins.altdata.contract``: ``download`` / ``parse`` /
``wire_from_shared``; ``finalize`` here gives the headline frame):

    schema      the headline frame, ``NewsProvider`` (the contract for headline sources),
                currency tagging, content hashes.
    store       the headline store (append-only parquet per provider) and the score cache
                (one score per content hash and scorer version).
    scoring     ``HeadlineScorer`` (one interface), ``VaderScorer`` (offline, the default);
                the Anthropic scorer is ``plugins.llm.news_scorer`` (same interface).
    features    per pair and candle: counts, mean / decayed sentiment, intensity vs its own
                30-day median, of headlines visible strictly before the candle's close plus
                a processing lag; "no coverage" is NaN, never zero.
    config      ``NewsConfig`` (``ai_suite.altdata.news``).
    shipped     ``import-shared`` / ``download`` / ``score`` for the CLI.

Providers: ``plugins.altdata.providers.cryptopanic`` (CryptoPanic API, key
``CRYPTOPANIC_API_KEY``) and ``plugins.altdata.providers.rss`` (outlets' public RSS feeds,
no key).
"""
