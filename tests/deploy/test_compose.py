"""compose.yaml against the Compose Specification's JSON schema (the copy vendored by
check-jsonschema, MIT), and the shape docs/deploy.md describes.

No container engine runs here: the stack is never started by the tests.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.tools import DEPLOY, ROOT, run, tool

COMPOSE = ROOT / "compose.yaml"


def compose_schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema") / "builtin_schemas" / "vendor"
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(compose_schema())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    assert errors(compose) == []


def test_the_schema_check_catches_a_mistake(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["server-1"]["depends_on"]["migrate"]["condition"] = "service_done"
    broken["services"]["agent-1"]["stop_grace_period"] = ["45s"]
    assert len(errors(broken)) == 2


def test_migrations_run_once_before_both_replicas(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("server-1", "server-2"):
        server = services[name]
        assert server["command"] == ["server"]
        assert server["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "artifacts:/var/lib/conveyor" in server["volumes"]  # one shared data directory
        assert server["environment"]["CONVEYOR_DATABASE_URL_FILE"].startswith("/run/secrets/")
        proxy = services["proxy"]["networks"]["backend"]["ipv4_address"]
        assert server["environment"]["CONVEYOR_TRUSTED_PROXIES"] == proxy


def caddy_adapt(path: Path) -> tuple[int, str]:
    """Caddy's own parse of a Caddyfile into its JSON config (nothing is started)."""
    adapted = run(tool("caddy"), "adapt", "--config", str(path), "--adapter", "caddyfile")
    return adapted.returncode, adapted.stdout + adapted.stderr


def test_caddy_fronts_both_replicas_with_tls() -> None:
    code, out = caddy_adapt(DEPLOY / "compose" / "Caddyfile")
    assert code == 0, out
    config = json.loads(out)["apps"]
    assert config["tls"]["automation"]["policies"][0]["issuers"][0]["module"] == "internal"
    handlers = json.dumps(config["http"]["servers"])
    assert '"dial": "server-1:8000"' in handlers and '"dial": "server-2:8000"' in handlers
    assert '"uri": "/readyz"' in handlers
    servers = config["http"]["servers"].values()
    listens = sorted(address for server in servers for address in server["listen"])
    assert listens == [":443", ":8080"]


def test_caddy_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "Caddyfile"
    broken.write_text("localhost {\n\treverse_prox server-1:8000\n}\n")
    code, out = caddy_adapt(broken)
    assert code != 0 and "unrecognized directive" in out


def test_agents_read_their_key_from_a_secret_and_get_time_to_hand_back(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("agent-1", "agent-2"):
        agent = services[name]
        assert agent["command"][0] == "agent"
        assert agent["environment"]["CONVEYOR_AGENT_KEY_FILE"] == "/run/secrets/agent_key"
        assert "CONVEYOR_AGENT_KEY" not in agent["environment"]
        grace = int(agent["environment"]["CONVEYOR_SHUTDOWN_GRACE"])
        stop = int(re.fullmatch(r"(\d+)s", agent["stop_grace_period"]).group(1))  # type: ignore[union-attr]
        assert stop > grace


def test_every_secret_is_a_file_and_every_mounted_file_is_in_the_repository(
    compose: dict[str, Any],
) -> None:
    declared = set(compose["secrets"])
    for name, service in compose["services"].items():
        assert set(service.get("secrets", [])) <= declared, name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"
    for secret in compose["secrets"].values():
        assert secret["file"].startswith("./deploy/compose/secrets/")


def test_monitoring_is_a_profile_with_the_shipped_dashboard_and_rules(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert services["grafana"]["profiles"] == ["monitoring"]
    assert "./deploy/prometheus:/etc/prometheus/rules:ro" in services["prometheus"]["volumes"]
    assert any(v.startswith("./deploy/grafana:") for v in services["grafana"]["volumes"])
    scrape = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    (job,) = scrape["scrape_configs"]
    assert job["job_name"] == "conveyor"  # the name the alert rules expect
    assert job["static_configs"][0]["targets"] == ["server-1:8000", "server-2:8000"]


def test_promtool_accepts_the_prometheus_configuration() -> None:
    checked = run(
        tool("promtool"),
        "check",
        "config",
        "--syntax-only",
        str(DEPLOY / "compose" / "prometheus.yml"),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
