"""Research tooling (layer 3): honest evaluation statistics, survival analysis of strategy
variants, promotion gates and the strict look-ahead check.

- :mod:`plugins.research.stats`: information coefficients on non-overlapping samples with
  HAC t-statistics, Sharpe / PSR / DSR, PBO by CSCV, block-bootstrap intervals, and
  Freqtrade's own drawdown / Calmar / profit-factor figures.
- :mod:`plugins.research.controls`: the no-skill and naive control predictors and buy-and-hold.
- :mod:`plugins.research.evaluation`: one report row per model or control (the keys every
  benchmark JSON carries).
- :mod:`plugins.research.survival`: variants x walk-forward windows -> survival rates, tiers,
  the seed's promotion thresholds and Kaplan-Meier curves.
- :mod:`plugins.research.evidence`: the evidence file a sweep or walk-forward run writes.
- :mod:`plugins.research.gates`: ``gate_report(evidence, config)``, the promotion gates (pure;
  the CLI, and later Telegram/REST, call it).
- :mod:`plugins.research.promotion`: admission of a gated strategy to the shadow stage.
- :mod:`plugins.research.lookahead`: ``freqtrade lookahead-analysis`` with FreqAI's
  unpredicted last candle removed (a strict verdict).
- ``python -m plugins.research``: the ``promote``, ``survival`` and ``lookahead`` commands.

The package imports nothing itself: its consumers load ``ai_suite.research`` with
``plugins.core.config.load_section`` and :mod:`plugins.research.config`'s model.
"""
