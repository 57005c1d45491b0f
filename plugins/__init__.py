"""freqtrade-ai-suite: the importable library behind the strategies and FreqAI models."""
