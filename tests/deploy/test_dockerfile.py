"""The Dockerfile: hadolint's rules, and what the image must be (docs/deploy.md).

No container engine runs here: the image is never built by the tests.
"""

from __future__ import annotations

import json
import re

from tests.deploy.tools import ROOT, run, tool

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


def test_hadolint_passes_with_no_rule_ignored() -> None:
    checked = run(tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "hadolint ignore" not in DOCKERFILE.read_text()


def test_hadolint_would_catch_a_bad_dockerfile() -> None:
    checked = run(tool("hadolint"), "--no-color", "-", stdin="FROM python:latest\nRUN cd /x\n")
    assert checked.returncode != 0
    assert "DL3007" in checked.stdout and "DL3003" in checked.stdout


def test_three_stages_ui_wheel_runtime() -> None:
    stages = [args for name, args in instructions() if name == "FROM"]
    assert [s.split()[-1] for s in stages] == ["web", "build", "runtime"]
    assert stages[0].startswith("node:")
    text = DOCKERFILE.read_text()
    assert "npm ci" in text and "npm run build" in text
    assert "COPY --from=web /src/src/conveyor/ui/" in text
    # The runtime stage carries the installed environment only, not the sources.
    runtime = text.split("AS runtime", 1)[1]
    assert "COPY --from=build /opt/conveyor /opt/conveyor" in runtime
    assert "COPY . ." not in runtime


def test_installs_from_the_lock_when_there_is_one() -> None:
    text = DOCKERFILE.read_text()
    assert "-c requirements/run.txt" in text
    assert "[server,tracing]" in text  # CONVEYOR_TRACING=otlp works in the image


def test_runs_as_a_non_root_user_with_a_health_check_and_exec_form() -> None:
    steps = instructions()
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    (health,) = [args for name, args in steps if name == "HEALTHCHECK"]
    assert "/healthz" in health and "CMD [" in health
    (entrypoint,) = [args for name, args in steps if name == "ENTRYPOINT"]
    # Exec form: conveyor gets SIGTERM itself (tini forwards it and reaps orphans).
    assert json.loads(entrypoint) == ["tini", "--", "conveyor"]
    (cmd,) = [args for name, args in steps if name == "CMD"]
    assert json.loads(cmd) == ["server"]


def test_dockerignore_keeps_the_context_small_and_secret_free() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "web/node_modules", "src/conveyor/ui", "deploy/compose/secrets"):
        assert entry in ignored, entry


def test_every_file_copied_from_the_context_exists() -> None:
    for name, args in instructions():
        if name != "COPY" or args.startswith("--from="):
            continue
        *sources, _target = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source
