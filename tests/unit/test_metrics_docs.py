"""The metrics reference in docs/operations.md is generated from the registry.

``python -m tests.unit.test_metrics_docs`` rewrites the table between its markers;
this test fails when a metric is added, renamed or re-described without it.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from conveyor.engine.metrics import Metrics

DOC = Path(__file__).parents[2] / "docs" / "operations.md"
BEGIN = "<!-- metrics:begin (generated: python -m tests.unit.test_metrics_docs) -->"
END = "<!-- metrics:end -->"
SUFFIX = {"counter": "_total", "histogram": " (`_bucket`, `_sum`, `_count`)"}


def reference() -> str:
    """One row per metric: its exposed name, type, labels and help text."""
    metrics = Metrics()
    labels = {
        wrapper._name: ", ".join(f"`{name}`" for name in wrapper._labelnames)
        for wrapper in vars(metrics).values()
        if isinstance(wrapper, MetricWrapperBase)
    }
    rows = ["| metric | type | labels | what it counts |", "|---|---|---|---|"]
    for family in sorted(metrics.registry.collect(), key=lambda f: f.name):
        if family.name not in labels:  # a collector's family (read at each scrape)
            labels[family.name] = ", ".join(f"`{n}`" for n in getattr(family, "_labelnames", ()))
        suffix = SUFFIX.get(family.type, "")
        name = f"`{family.name}{suffix}`" if "(" not in suffix else f"`{family.name}`{suffix}"
        rows.append(
            f"| {name} | {family.type} | {labels.get(family.name, '')} | {family.documentation} |"
        )
    return "\n".join(rows)


def _rewritten(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{reference()}\n{END}{tail}"


def test_the_docs_list_every_metric_as_the_code_defines_it() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, "docs/operations.md lost its metrics markers"
    assert _rewritten(text) == text, "run: python -m tests.unit.test_metrics_docs"


def test_every_metric_is_prefixed_and_no_label_is_a_job_id() -> None:
    metrics = Metrics()
    for family in metrics.registry.collect():
        assert family.name.startswith("conveyor_")
    for wrapper in vars(metrics).values():
        if isinstance(wrapper, MetricWrapperBase):
            assert not {"job_id", "id", "agent_id"} & set(wrapper._labelnames)


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


if __name__ == "__main__":
    DOC.write_text(_rewritten(DOC.read_text()))
