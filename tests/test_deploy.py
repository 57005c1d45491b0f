"""deploy/: Prometheus scrape config and alert rules, Grafana provisioning and dashboard, and
their docker-compose services, validated structurally (no Docker engine here). Every PromQL
expression of the rules and the dashboard is parsed (``promql-parser``, a PromQL parser) and
may reference only metrics the suite's exporter serves in a scrape."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import promql_parser
import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from plugins.core.clock import FixedClock
from plugins.metrics.config import MetricsConfig
from plugins.metrics.exporter import SuiteExporter
from plugins.metrics.view import AccountFigures
from plugins.risk.journal import DecisionJournal
from plugins.risk.state import RiskDecision, TradingState
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
#: Series Prometheus writes itself for every target (not the exporter's).
PROMETHEUS_OWN = {"up"}
#: Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"instance", "job"}
#: Grafana's variables as a query would see them.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1d", "$pair": ".*"}


def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


class Bot:
    """The smallest running bot: the exporter's view with one pair (stand-in)."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = {"stake_currency": "USDT",
                       "ai_suite": {"llm": {"ledger_path": str(tmp_path / "ledger.sqlite")}}}
        self.strategy_name, self.timeframe = "Probe", "1h"
        self.journal = DecisionJournal(tmp_path / "journal.sqlite")

    def account(self):
        return AccountFigures(10_000.0, 10_000.0, 0)

    def decision(self):
        return RiskDecision(TradingState.ACTIVE, ())

    def kill_switch_locked(self, now):
        return False

    def stage_record(self, now):
        return None

    def analysed_frames(self):
        return {"BTC/USDT": pd.DataFrame({"date": [pd.Timestamp("2026-01-01", tz="UTC")],
                                          "close": [1.0]})}

    def realized_labels(self, pair, frame):
        return None

    def label_horizon(self):
        return None

    def drift_status(self):
        return None

    def altdata_ages(self, now):
        return None


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> dict[str, set[str]]:
    """Metric name -> its label names, from a scrape of a running exporter over HTTP (every
    family appears, with or without samples; counters by their ``_total`` sample name)."""
    bot = Bot(tmp_path_factory.mktemp("exporter"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exporter = SuiteExporter(bot, MetricsConfig(enabled=True, port=port),
                             FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    exporter.serve()
    try:
        exporter.refresh()
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        exporter.close()
        bot.journal.close()
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        name = family.name + "_total" if family.type == "counter" else family.name
        names[name] = {label for s in family.samples for label in s.labels}
    # a labelled gauge with no sample yet: its labels from the registry's definition
    for collector in exporter.metrics.registry._collector_to_names:  # noqa: SLF001
        labels = getattr(collector, "_labelnames", None)
        if labels is not None:
            names.setdefault(collector._name, set()).update(labels)  # noqa: SLF001
    return names


def rule_expressions() -> Iterator[tuple[str, str]]:
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield f"{path.name}:{rule['alert']}", rule["expr"]


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                yield f"{path.name}:{panel['title']}", target["expr"]
        for var in dash["templating"]["list"]:
            if var["type"] == "query":
                query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
                inner = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
                assert inner, f"{path.name}: variable {var['name']}: {query}"
                yield f"{path.name}:${var['name']}", inner.group(1)


EXPRESSIONS = [*rule_expressions(), *dashboard_expressions()]


def selectors(node) -> Iterator:
    """Every vector selector of a parsed PromQL expression (``promql_parser`` node types)."""
    if type(node).__name__ == "VectorSelector":
        yield node
        return
    for attr in ("expr", "lhs", "rhs", "param", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, (str, int, float)):
            yield from selectors(child)
    for child in getattr(node, "args", None) or ():
        yield from selectors(child)


def parse(expr: str):
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return promql_parser.parse(expr)


def test_there_are_rules_and_dashboard_panels_to_check():
    assert len(list(rule_expressions())) >= 8 and len(list(dashboard_expressions())) >= 25


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_promql_when_parsed_then_only_metrics_and_labels_the_exporter_serves(where, expr,
                                                                            served):
    found = list(selectors(parse(expr)))

    assert found, f"{where}: no metric in {expr!r}"
    for selector in found:
        name = selector.name
        assert name in served or name in PROMETHEUS_OWN, f"{where}: {name} is not served"
        if name in PROMETHEUS_OWN:
            continue
        for matcher in selector.matchers.matchers:
            assert matcher.name in served[name] | TARGET_LABELS, \
                f"{where}: {name} has no label {matcher.name}"


def test_every_served_metric_follows_prometheus_naming(served):
    for name in served:
        assert re.fullmatch(r"ai_suite_[a-z0-9_]+", name), name
        assert not name.endswith("_total") or name in {
            "ai_suite_breaker_trips_total", "ai_suite_entry_denials_total",
            "ai_suite_refresh_errors_total"}, f"{name}: _total is for counters only"


def test_alert_rules_when_loaded_then_each_has_severity_summary_and_the_required_alerts():
    alerts = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            assert group["name"] and group["rules"]
            for rule in group["rules"]:
                assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
                assert rule["labels"]["severity"] in ("critical", "warning")
                assert rule["annotations"]["summary"] and rule["annotations"]["description"]
                assert re.fullmatch(r"\d+[smhd]", rule.get("for", "0s")), rule["alert"]
                alerts[rule["alert"]] = rule["expr"]
    for required in ("AiSuiteKillSwitchTripped", "AiSuiteBreakerHalted", "AiSuiteDataSourceStale",
                     "AiSuiteNoCandleProcessed", "AiSuiteLlmBudget80", "AiSuiteRollingICNegative"):
        assert required in alerts
    assert "0.8" in alerts["AiSuiteLlmBudget80"]
    assert "2 * ai_suite_timeframe_seconds" in alerts["AiSuiteNoCandleProcessed"]


def test_prometheus_config_scrapes_the_bot_services_on_the_exporters_port():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    services = compose()["services"]
    [job] = config["scrape_configs"]
    [sd] = job["dns_sd_configs"]

    bots = [n for n in sd["names"]]
    assert set(bots) == {"freqtrade", "freqtrade-replay"} <= set(services)
    for bot in bots:
        env = services[bot]["environment"]
        assert str(env["FREQTRADE__AI_SUITE__METRICS__PORT"]) == str(sd["port"])
        assert env["FREQTRADE__AI_SUITE__METRICS__HOST"] == "0.0.0.0", "reachable by Prometheus"
        assert not any(str(p).endswith(f":{sd['port']}") for p in services[bot]["ports"]), \
            "the exporter is not published on the host"
    mounts = dict(v.split(":")[1::-1] for v in services["prometheus"]["volumes"]
                  if v.startswith("./"))
    assert mounts["/etc/prometheus"] == "./deploy/prometheus"
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"] and RULES


def test_grafana_provisioning_points_at_prometheus_and_the_mounted_dashboards():
    services = compose()["services"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"]}
    [source] = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml")
                              .read_text())["datasources"]
    [provider] = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/ai_suite.yml")
                                .read_text())["providers"]

    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    assert "9090:9090" in services["prometheus"]["ports"][0]
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert (REPO_ROOT / mounts[provider["options"]["path"]]) == DEPLOY / "grafana" / "dashboards"
    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids)) and dash["uid"]
        for panel in dash["panels"]:
            grid = panel["gridPos"]
            assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
            for ds in [panel.get("datasource"), *(t.get("datasource") for t in
                                                  panel.get("targets", []))]:
                assert ds is None or ds["uid"] == source["uid"], panel["title"]
        rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
        assert rows == ["Account and risk", "Breakers and entry checks", "Deployment stage",
                        "Regime and model", "Data freshness", "LLM spend",
                        "FreqAI and bot loop"], "README 'Monitoring' describes these rows"


def test_monitoring_services_are_official_pinned_images_on_loopback_behind_a_profile():
    services = compose()["services"]

    for name, image in (("prometheus", "prom/prometheus"), ("grafana", "grafana/grafana")):
        service = services[name]
        repo, _, tag = service["image"].partition(":")
        assert repo == image and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), service["image"]
        assert service["profiles"] == ["monitoring"]
        assert all(p.startswith("127.0.0.1:") for p in service["ports"])
        for volume in service["volumes"]:
            host = volume.split(":")[0]
            assert not host.startswith("./") or (REPO_ROOT / host).is_dir(), volume
    assert "admin" not in services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"], \
        "the password comes from the environment"
    assert set(compose()["volumes"]) == {"prometheus-data", "grafana-data"}
