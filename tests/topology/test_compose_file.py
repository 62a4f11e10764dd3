"""docker-compose.yml, the Dockerfile and deploy/ say what the topology promises (issue 12 §1);
the running proof is test_compose_topology.py."""

import json
import re

import pytest

from . import compose

APP_SERVICES = ["web", "dispatcher", "worker-sms", "worker-email", "worker-periodic", "beat"]
DOCKERFILE = (compose.ROOT / "Dockerfile").read_text()


def test_the_proxy_is_the_only_published_service():
    published = {name for name, svc in compose.load()["services"].items() if svc.get("ports")}
    assert published == {"proxy"}


def test_every_service_has_a_healthcheck_but_the_one_shot_migration():
    services = compose.load()["services"]
    missing = [name for name, svc in services.items()
               if name != "migrate" and not svc.get("healthcheck", {}).get("test")]
    assert missing == []


def test_only_the_one_shot_service_migrates_and_everything_waits_for_it():
    services = compose.load()["services"]
    assert "migrate" in " ".join(compose.service_command("migrate", {}))
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES:
        assert "migrate" not in " ".join(compose.service_command(name, {})), name
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}, name
    # The image's own start is the web node's: the check, then gunicorn, no migration.
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE).group(1))
    assert cmd == compose.service_command("web", {})
    assert "check --deploy --fail-level WARNING" in cmd[-1]


def test_workers_serve_one_queue_each_and_beat_is_alone():
    queues = {name: [p for p in compose.service_command(name, {}) if p.startswith("--queues=")]
              for name in ("worker-sms", "worker-email", "worker-periodic")}
    assert queues == {"worker-sms": ["--queues=sms"], "worker-email": ["--queues=email"],
                      "worker-periodic": ["--queues=periodic"]}
    env = compose.service_env("web", {name: "x" for name in _required_variables()})
    assert env["CELERY_SEPARATE_QUEUES"] == "true"
    assert "replicas" not in str(compose.service("beat"))


def test_the_image_runs_as_a_user_and_installs_locked_hashed_requirements():
    assert re.search(r"^USER 10001$", DOCKERFILE, re.MULTILINE)
    assert "--require-hashes" in DOCKERFILE and "requirements/production.txt" in DOCKERFILE
    lock = (compose.ROOT / "requirements/production.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==\S+ \\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)",
                      lock, re.MULTILINE)
    pinned = {name.lower().replace("_", "-") for name, _ in pins}
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9_.\-]+==", lock, re.MULTILINE))
    pyproject = (compose.ROOT / "pyproject.toml").read_text()
    block = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    for requirement in re.findall(r'"([A-Za-z0-9_.\-]+)', block):
        assert requirement.lower().replace("_", "-") in pinned, requirement
    assert "/opt/" not in lock  # nothing of this machine


@pytest.mark.parametrize("kept_out", [".env", "var/", ".venv/", ".git/", "tests/",
                                      "**/node_modules/", "deploy/tls/"])
def test_dockerignore_keeps_secrets_and_local_state_out(kept_out):
    lines = (compose.ROOT / ".dockerignore").read_text().splitlines()
    assert kept_out in lines


def test_nginx_replaces_x_forwarded_for_and_logs_no_query_string():
    template = (compose.ROOT / "deploy/nginx/templates/educonnect.conf.template").read_text()
    config = "\n".join(line.split("#", 1)[0] for line in template.splitlines())
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in config
    assert "$proxy_add_x_forwarded_for" not in config
    log_format = re.search(r"log_format educonnect(.*?);", config, re.DOTALL).group(1)
    for variable in ("$request ", "$request\"", "$request_uri", "$args", "$query_string",
                     "$http_referer", "$arg_"):
        assert variable not in log_format
    assert compose.service_env("web", {n: "x" for n in _required_variables()})[
        "TRUSTED_PROXY_COUNT"] == "1"


def test_gunicorn_logs_no_query_string_nor_referer():
    path = compose.ROOT / "deploy/gunicorn.conf.py"
    namespace: dict = {"__file__": str(path)}  # as gunicorn loads it
    exec(path.read_text(), namespace)  # noqa: S102
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%(u)s"):
        assert atom not in namespace["access_log_format"]
    assert "%(U)s" in namespace["access_log_format"]


def _required_variables() -> list[str]:
    return re.findall(r"\$\{([A-Z_]+):\?", compose.COMPOSE_FILE.read_text())


def test_compose_refuses_to_start_without_each_secret():
    with pytest.raises(compose.MissingVariable, match="DJANGO_SECRET_KEY"):
        compose.service_env("web", {})
    assert {"DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "OTP_TOTP_ENCRYPTION_KEY",
            "OIDC_PAIRWISE_SECRET", "SAML_IDP_KEY"} <= set(_required_variables())


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("${A:-x}", {}, "x"), ("${A:-x}", {"A": ""}, "x"), ("${A-x}", {"A": ""}, ""),
    ("${A}", {"A": "v"}, "v"), ("$$HOSTNAME", {}, "$HOSTNAME"), ("a${B:-}b", {}, "ab"),
])
def test_interpolation_reads_like_compose(text, env, expected):
    assert compose.interpolate(text, env) == expected
