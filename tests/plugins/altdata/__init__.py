"""Tests of plugins.altdata."""

#: The news blackout window the tests' ``AltDataFeatures`` take (a strategy passes its risk
#: guard's ``ai_suite.risk.blackout_before_min`` / ``_after_min``).
NEWS_BLACKOUT_MIN = {"blackout_before_min": 30.0, "blackout_after_min": 60.0}
