"""The Helm chart: ``helm lint``, and every manifest ``helm template`` renders (for
several sets of values) validated against Kubernetes' own schemas with
kubernetes-validate, linted with yamllint, and checked for what docs/deploy.md
promises. KEDA's ScaledObject has no schema there: its fields are checked here.

No cluster runs here: nothing is ever installed.
"""

from __future__ import annotations

import functools
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.tools import CHART, lint_problems, run, tool

KUBERNETES = ("1.29.0", kubernetes_validate.latest_version())
"""The oldest Kubernetes the chart supports (Chart.yaml's kubeVersion) and the newest
kubernetes-validate knows: every manifest must be valid on both."""

VALUES: dict[str, list[str]] = {
    "defaults": [],
    "autoscaled": [
        "--set", "agent.autoscaling.enabled=true",
        "--set", "ingress.enabled=true",
        "--set", "ingress.className=nginx",
        "--set", "ingress.tlsSecretName=conveyor-tls",
        "--set", "persistence.existingClaim=shared-artifacts",
    ],
    "minimal": [
        "--set", "serviceAccount.create=false",
        "--set", "serviceAccount.name=conveyor",
        "--set", "networkPolicy.enabled=false",
        "--set", "persistence.enabled=false",
        "--set", "agent.enabled=false",
        "--set", "server.replicas=1",
    ],
}  # fmt: skip


@functools.cache
def render(*values: str) -> subprocess.CompletedProcess[str]:
    """``helm template`` once per set of values (each run costs about half a second)."""
    return run(tool("helm"), "template", "demo", str(CHART), "--namespace", "jobs", *values)


def manifests(*values: str) -> list[dict[str, Any]]:
    rendered = render(*values)
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_helm_lint_is_clean() -> None:
    for values in VALUES.values():
        linted = run(tool("helm"), "lint", "--strict", str(CHART), *values)
        assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("version", KUBERNETES)
@pytest.mark.parametrize("name", VALUES)
def test_every_manifest_is_valid_kubernetes(name: str, version: str) -> None:
    docs = manifests(*VALUES[name])
    assert docs
    for doc in docs:
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # no schema for a CRD: test_agents_scale_on_queue_depth checks it
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validation_catches_a_mistake() -> None:
    (server,) = by_kind(manifests(), "Service").values()
    server["spec"]["ports"][0]["port"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(server, KUBERNETES[0], strict=True)


@pytest.mark.parametrize("name", VALUES)
def test_rendered_yaml_passes_yamllint(name: str) -> None:
    rendered = render(*VALUES[name])
    assert rendered.returncode == 0, rendered.stderr
    assert lint_problems(rendered.stdout) == []


def test_server_probes_service_and_disruption_budget() -> None:
    docs = manifests()
    server = by_kind(docs, "Deployment")["demo-conveyor-server"]
    (container,) = server["spec"]["template"]["spec"]["containers"]
    assert container["args"][0] == "server"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["cpu"]
    assert server["spec"]["replicas"] == 2
    pdb = by_kind(docs, "PodDisruptionBudget")["demo-conveyor-server"]
    assert pdb["spec"]["minAvailable"] == 1
    assert by_kind(docs, "Service")["demo-conveyor"]["spec"]["ports"][0]["port"] == 8000


def test_migrations_are_a_pre_install_and_pre_upgrade_hook() -> None:
    (job,) = by_kind(manifests(), "Job").values()
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]
    # The chart's ServiceAccount does not exist yet when a pre-install hook runs.
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]


def test_agents_get_more_time_than_their_shutdown_grace() -> None:
    agent = by_kind(manifests(), "Deployment")["demo-conveyor-agent"]
    pod = agent["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert pod["terminationGracePeriodSeconds"] > int(env["CONVEYOR_SHUTDOWN_GRACE"])
    assert container["args"][:3] == ["agent", "--server", "http://demo-conveyor:8000"]


def test_agents_scale_on_queue_depth() -> None:
    docs = manifests(*VALUES["autoscaled"])
    agent = by_kind(docs, "Deployment")["demo-conveyor-agent"]
    assert "replicas" not in agent["spec"]  # KEDA owns the count
    scaled = by_kind(docs, "ScaledObject")["demo-conveyor-agent"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"name": "demo-conveyor-agent"}
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    query = trigger["metadata"]["query"]
    assert 'max by (queue) (conveyor_queue_depth{state="queued", queue=~"default"})' in query
    assert trigger["metadata"]["threshold"] == "10"
    assert all(isinstance(v, str) for v in trigger["metadata"].values())


def test_secrets_are_referenced_never_rendered() -> None:
    docs = manifests()
    assert not by_kind(docs, "Secret")
    secrets = {
        volume["secret"]["secretName"]
        for doc in docs
        if doc["kind"] in ("Deployment", "Job")
        for volume in doc["spec"]["template"]["spec"]["volumes"]
        if "secret" in volume
    }
    assert secrets == {"conveyor-database", "conveyor-agent-key"}


def test_every_pod_runs_as_non_root_without_a_service_account_token() -> None:
    for doc in manifests():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_network_policies_admit_agents_to_the_servers_and_nothing_to_agents() -> None:
    policies = by_kind(manifests(), "NetworkPolicy")
    server = policies["demo-conveyor-server"]["spec"]
    peers = server["ingress"][0]["from"]
    assert peers[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "agent"
    agent = policies["demo-conveyor-agent"]["spec"]
    assert agent["policyTypes"] == ["Ingress"] and "ingress" not in agent


def test_a_missing_secret_name_is_refused_with_a_message() -> None:
    rendered = render("--set", "database.existingSecret=")
    assert rendered.returncode != 0
    assert "database.existingSecret" in rendered.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("server.replicas=0", "/server/replicas"),
        ("agent.shutdownGraceSeconds=-5", "/agent/shutdownGraceSeconds"),
        ("agent.queues[0]=a b", "/agent/queues/0"),
        ("agent.slots=5000", "/agent/slots"),
    ],
)
def test_values_out_of_bounds_are_refused_by_the_schema(value: str, message: str) -> None:
    rendered = render("--set", value)
    assert rendered.returncode != 0
    assert message in rendered.stderr
