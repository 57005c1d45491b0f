"""The position a tree holds, candle by candle: the interpreter's sequential pass (stops, take
profits, trailing, signal exits, scaled entries) over its signals. The rules are spelled out in
``interpreter``'s module docstring ("Position"); this is their one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from plugins.strategy_tree.schema import StrategyTree, TakeProfit

POSITION_COLUMNS = ("batches", "target_exposure", "avg_entry_price", "stop_price",
                    "take_profit_price", "action")


@dataclass
class _Book:
    """Open-position state of the sequential pass."""

    fills: list[tuple[float, float]]  # (price, size)
    last_add_ns: int
    atr: float
    trail_atr: float
    highest: float
    closed: float = 0.0  # fraction of the peak closed by take profits
    tp_next: int = 0

    @property
    def size(self) -> float:
        return sum(size for _, size in self.fills)

    @property
    def avg(self) -> float:
        return sum(p * s for p, s in self.fills) / self.size


def simulate(tree: StrategyTree, candles: pd.DataFrame, close_ns: np.ndarray, enter: np.ndarray,
              exit_signal: np.ndarray, no_schedule: np.ndarray, atr: np.ndarray | None,
              trail_atr: np.ndarray | None) -> dict[str, np.ndarray]:
    """The sequential pass of the position rules (the interpreter's module docstring, steps
    1-6) over one pair's candles.

    Args:
        candles: the evaluated candles (``open high low close``).
        close_ns: each candle's close (int64 ns UTC).
        enter / exit_signal: the ``enter_long`` / ``exit_long`` signals (bool per candle).
        no_schedule: no scheduled batch may be added (a filter blocks, expired, not active).
        atr / trail_atr: the ATR series of an ATR stop / trailing stop (None: percentage).

    Returns:
        ``POSITION_COLUMNS`` -> one array each, row for row.
    """
    o, h, low, c = (candles[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close"))
    pos = tree.position
    stop_cfg, trail_cfg = tree.risk.stop_loss, tree.risk.trailing
    stages: tuple[TakeProfit, ...] = tree.take_profit
    interval_ns = int(pos.interval.total_seconds() * 10**9) if pos.interval is not None else 0
    n = len(c)
    batches = np.zeros(n, dtype="int64")
    exposure = np.zeros(n)
    avg_price = np.full(n, np.nan)
    stop_price = np.full(n, np.nan)
    tp_price = np.full(n, np.nan)
    actions = np.full(n, "", dtype=object)
    book: _Book | None = None

    def levels(b: _Book) -> tuple[float, float, bool, float]:
        """(fixed stop, trailing stop, trailing is the binding one, next take-profit price)."""
        ref = {"average_entry_price": b.avg, "first_entry_price": b.fills[0][0],
               "last_entry_price": b.fills[-1][0]}[stop_cfg.reference]
        fixed = (ref * (1 - stop_cfg.value) if stop_cfg.type == "percentage"
                 else ref - stop_cfg.value * b.atr)
        trail = -np.inf
        if trail_cfg is not None and b.highest >= b.avg * (1 + trail_cfg.activate_at):
            trail = (b.highest * (1 - trail_cfg.value) if trail_cfg.type == "percentage"
                     else b.highest - trail_cfg.value * b.trail_atr)
        tp = b.avg * (1 + stages[b.tp_next].level) if b.tp_next < len(stages) else np.nan
        return fixed, trail, trail > fixed, tp

    for t in range(n):
        done: list[str] = []
        if book is not None:
            fixed, trail, trailing, _ = levels(book)
            stop = max(fixed, trail)
            if low[t] <= stop:
                done.append("trailing_stop" if trailing else "stop_loss")
                book = None
            else:
                while book.tp_next < len(stages):
                    target = book.avg * (1 + stages[book.tp_next].level)
                    if h[t] < target:
                        break
                    fraction = stages[book.tp_next].action
                    book.closed = 1.0 if fraction is None else min(1.0, book.closed + fraction)
                    book.tp_next += 1
                    done.append(f"take_profit_{book.tp_next}")
                    if book.closed >= 1 - 1e-12:
                        book = None
                        break
                if book is not None:
                    book.highest = max(book.highest, h[t])
            if book is not None and exit_signal[t]:
                done.append("exit_signal")
                book = None
            if book is not None and book.tp_next == 0 and len(book.fills) < pos.batches and (
                    close_ns[t] - book.last_add_ns >= interval_ns) and (
                    enter[t] if pos.add_on == "signal" else not no_schedule[t]):
                book.fills.append((c[t], pos.size_per_batch))
                book.last_add_ns = int(close_ns[t])
                book.atr = atr[t] if atr is not None else np.nan
                book.trail_atr = trail_atr[t] if trail_atr is not None else np.nan
                done.append("add")
        elif enter[t]:
            book = _Book(fills=[(c[t], pos.size_per_batch)], last_add_ns=int(close_ns[t]),
                         atr=atr[t] if atr is not None else np.nan,
                         trail_atr=trail_atr[t] if trail_atr is not None else np.nan,
                         highest=c[t])
            done.append("enter")
        if book is not None:
            fixed, trail, _, tp = levels(book)
            batches[t] = len(book.fills)
            exposure[t] = min(book.size * (1 - book.closed), pos.max_total_exposure)
            avg_price[t] = book.avg
            stop_price[t] = max(fixed, trail)
            tp_price[t] = tp
        actions[t] = "+".join(done)
    return {"batches": batches, "target_exposure": exposure, "avg_entry_price": avg_price,
            "stop_price": stop_price, "take_profit_price": tp_price, "action": actions}
