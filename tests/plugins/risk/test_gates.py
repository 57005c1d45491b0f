"""The 7-gate entry framework: each gate at its edges, and the all-must-pass rule."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.risk.config import GateConfig
from plugins.risk.gates import GateInputs, evaluate_gates

CFG = GateConfig()
GOOD = GateInputs(close=105.0, ema200=100.0, rsi=55.0, momentum=0.01, momentum_before=0.0,
                  in_blackout=False, cooling_down=False, regime="bull", confidence=0.8)


def verdicts(**changes) -> dict[str, bool]:
    inputs = GateInputs(**{**GOOD.__dict__, **changes})
    return {r.check: r.passed for r in evaluate_gates(inputs, CFG)}


def test_evaluate_gates_when_all_conditions_good_then_all_seven_pass():
    results = evaluate_gates(GOOD, CFG)

    assert [r.check for r in results] == ["regime", "ema200_band", "rsi", "news_blackout",
                                         "cooldown", "momentum", "confidence"]
    assert all(r.passed for r in results)


@pytest.mark.parametrize(("changes", "gate", "passed"), [
    ({"regime": "bear"}, "regime", False),
    ({"regime": None}, "regime", True),
    ({"close": 95.0}, "ema200_band", True),           # exactly -5 %
    ({"close": 94.9}, "ema200_band", False),
    ({"close": 120.0}, "ema200_band", True),          # exactly +20 %
    ({"close": 120.1}, "ema200_band", False),
    ({"ema200": math.nan}, "ema200_band", False),     # not enough history: fail closed
    ({"rsi": 75.0}, "rsi", True),
    ({"rsi": 75.1}, "rsi", False),
    ({"in_blackout": True}, "news_blackout", False),
    ({"cooling_down": True}, "cooldown", False),
    ({"momentum": -0.02, "momentum_before": -0.01}, "momentum", True),   # fell exactly 1 %
    ({"momentum": -0.03, "momentum_before": -0.01}, "momentum", False),
    ({"momentum": 0.0, "momentum_before": 0.05}, "momentum", True),      # still >= 0
    ({"confidence": 0.5}, "confidence", True),
    ({"confidence": 0.49}, "confidence", False),
    ({"confidence": None}, "confidence", True),
])
def test_each_gate_at_its_edges(changes, gate, passed):
    assert verdicts(**changes)[gate] is passed


@given(rsi=st.floats(0, 100), close=st.floats(1, 1e6), ema=st.floats(1, 1e6),
       blackout=st.booleans(), cooling=st.booleans())
def test_property_any_denied_gate_denies_the_entry(rsi, close, ema, blackout, cooling):
    inputs = GateInputs(close=close, ema200=ema, rsi=rsi, momentum=0.0, momentum_before=0.0,
                        in_blackout=blackout, cooling_down=cooling)

    results = evaluate_gates(inputs, CFG)

    if blackout or cooling or rsi > CFG.rsi_max:
        assert not all(r.passed for r in results)
    assert all(r.detail for r in results)
