"""The Prometheus alert rules and the Grafana dashboard in deploy/ are valid.

``promtool check rules`` (Debian's ``prometheus`` package) parses every rule's PromQL;
that every metric they name is served is checked against a live server in
``tests/e2e/test_metrics.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.helpers.needs import need

DEPLOY = Path(__file__).parents[2] / "deploy"


def test_promtool_accepts_the_alert_rules() -> None:
    promtool = shutil.which("promtool")
    need(promtool is not None, "promtool not found: apt-get install prometheus")
    assert promtool is not None
    rules = sorted((DEPLOY / "prometheus").glob("*.yml"))
    assert rules
    checked = subprocess.run(
        [promtool, "check", "rules", *map(str, rules)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_is_grafana_json_with_a_query_in_every_panel() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "conveyor.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
