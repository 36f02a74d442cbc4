"""The metrics references in docs/operations.md are generated from the registries.

``python -m tests.unit.test_metrics_docs`` rewrites each table between its markers
(the server's and the agent's); this test fails when a metric is added, renamed or
re-described without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from conveyor.agent.metrics import AgentMetrics
from conveyor.engine.metrics import Metrics

DOC = Path(__file__).parents[2] / "docs" / "operations.md"
SUFFIX = {"counter": "_total", "histogram": " (`_bucket`, `_sum`, `_count`)"}
TABLES = {"metrics": Metrics, "agent-metrics": AgentMetrics}
"""Marker name -> the class whose registry the table lists."""


def markers(name: str) -> tuple[str, str]:
    generated = "generated: python -m tests.unit.test_metrics_docs"
    return f"<!-- {name}:begin ({generated}) -->", f"<!-- {name}:end -->"


def _wrappers(metrics: object) -> list[MetricWrapperBase]:
    return [w for w in vars(metrics).values() if isinstance(w, MetricWrapperBase)]


def reference(metrics: Metrics | AgentMetrics) -> str:
    """One row per metric: its exposed name, type, labels and help text."""
    registry: CollectorRegistry = metrics.registry
    labels = {
        wrapper._name: ", ".join(f"`{name}`" for name in wrapper._labelnames)
        for wrapper in _wrappers(metrics)
    }
    rows = ["| metric | type | labels | what it counts |", "|---|---|---|---|"]
    for family in sorted(registry.collect(), key=lambda f: f.name):
        if family.name not in labels:  # a collector's family (read at each scrape)
            labels[family.name] = ", ".join(f"`{n}`" for n in getattr(family, "_labelnames", ()))
        suffix = SUFFIX.get(family.type, "")
        name = f"`{family.name}{suffix}`" if "(" not in suffix else f"`{family.name}`{suffix}"
        rows.append(
            f"| {name} | {family.type} | {labels.get(family.name, '')} | {family.documentation} |"
        )
    return "\n".join(rows)


def _rewritten(text: str) -> str:
    for name, kind in TABLES.items():
        begin, end = markers(name)
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n{reference(kind())}\n{end}{tail}"
    return text


def test_the_docs_list_every_metric_as_the_code_defines_it() -> None:
    text = DOC.read_text()
    for name in TABLES:
        begin, end = markers(name)
        assert begin in text and end in text, f"docs/operations.md lost its {name} markers"
    assert _rewritten(text) == text, "run: python -m tests.unit.test_metrics_docs"


@pytest.mark.parametrize("kind", TABLES.values(), ids=TABLES.keys())
def test_every_metric_is_prefixed_and_no_label_is_a_job_id(
    kind: type[Metrics | AgentMetrics],
) -> None:
    metrics = kind()
    prefix = "conveyor_agent_" if kind is AgentMetrics else "conveyor_"
    for family in metrics.registry.collect():
        assert family.name.startswith(prefix)
    for wrapper in _wrappers(metrics):
        assert not {"job_id", "id", "agent_id"} & set(wrapper._labelnames)


def test_the_agent_names_none_of_the_servers_metrics() -> None:
    """A scrape of both must not mix two meanings under one name."""
    server = {family.name for family in Metrics().registry.collect()}
    agent = {family.name for family in AgentMetrics().registry.collect()}
    assert not server & agent


def test_action_and_queue_labels_are_capped() -> None:
    metrics = Metrics()
    metrics.on_submitted((f"action{i}", "q") for i in range(500))
    families = {f.name: f for f in metrics.registry.collect()}
    actions = {s.labels["action"] for s in families["conveyor_jobs_submitted"].samples}
    assert len(actions) == metrics.action.cap + 1 and "other" in actions
    assert (
        sum(
            s.value
            for s in families["conveyor_jobs_submitted"].samples
            if s.name.endswith("_total")
        )
        == 500
    )


def test_the_agents_action_label_is_capped() -> None:
    metrics = AgentMetrics()
    for i in range(500):
        metrics.on_job_ended("succeeded", f"action{i}")
    families = {f.name: f for f in metrics.registry.collect()}
    samples = [s for s in families["conveyor_agent_jobs"].samples if s.name.endswith("_total")]
    assert len({s.labels["action"] for s in samples}) == metrics.action.cap + 1
    assert sum(s.value for s in samples) == 500


if __name__ == "__main__":
    DOC.write_text(_rewritten(DOC.read_text()))
