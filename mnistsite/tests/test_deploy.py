"""The container recipe, without Docker: the files agree with each other and the start works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
sys.path.insert(0, str(ROOT / "deploy"))
from smoke import dockerfile_serve_cmd  # noqa: E402

DOCKERFILE = (ROOT / "Dockerfile").read_text()
CLOUDBUILD = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
SERVICE = yaml.safe_load((ROOT / "deploy" / "service.yaml").read_text())
STAGES = re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)", DOCKERFILE, re.MULTILINE | re.IGNORECASE)


def steps() -> dict[str, dict]:
    return {step["id"]: step for step in CLOUDBUILD["steps"]}


def test_base_image_is_pinned_and_stages_are_serve_last():
    pinned = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE).group(1)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", pinned), pinned
    names = [name for _, name in STAGES]
    assert {"serve", "train"} <= set(names) and names[-1] == "serve", "serve is the default target"


def test_containers_run_as_a_non_root_user():
    users = re.findall(r"^USER\s+(\S+)$", DOCKERFILE, re.MULTILINE)
    assert users and all(user not in {"root", "0"} for user in users)


def test_serve_image_has_no_tensorflow_and_collects_static_files():
    lines = (ROOT / "requirements" / "serve.txt").read_text().lower().splitlines()
    packages = [line.split("==")[0] for line in lines if line and not line.startswith("#")]
    assert "tensorflow" not in packages and "keras" not in packages and "django" in packages
    assert "tensorflow" in (ROOT / "requirements" / "train.txt").read_text()
    assert "COPY requirements/serve.txt" in DOCKERFILE and "collectstatic" in DOCKERFILE


def test_start_command_is_gunicorn_with_the_shared_config_on_port_8080():
    command = dockerfile_serve_cmd()
    assert command[:2] == ["gunicorn", "mnistsite.wsgi:application"]
    config = command[command.index("--config") + 1]
    assert (ROOT / config).is_file()
    assert "os.environ.get('PORT', '8080')" in (ROOT / config).read_text()
    assert "EXPOSE 8080" in DOCKERFILE and "PORT=8080" in DOCKERFILE
    container = SERVICE["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == 8080


def test_cloudbuild_builds_pushes_and_deploys_the_same_images():
    built = {}
    for step in CLOUDBUILD["steps"]:
        if step["args"][0] == "build":
            built[step["args"][step["args"].index("--target") + 1]] = step["args"][step["args"].index("-t") + 1]
    assert set(built) == {"serve", "train"}
    pushed = {step["args"][1] for step in CLOUDBUILD["steps"] if step["args"][0] == "push"}
    assert pushed == set(built.values()) == set(CLOUDBUILD["images"])
    assert steps()["migrate"]["args"][steps()["migrate"]["args"].index("--image") + 1] == built["serve"]
    assert "manage.py,migrate,--noinput" in steps()["migrate"]["args"]
    finetune = steps()["finetune-job"]["args"]
    assert finetune[finetune.index("--image") + 1] == built["train"] and "manage.py,finetune" in finetune
    prune = steps()["prune-job"]["args"]
    assert prune[prune.index("--image") + 1] == built["serve"] and "manage.py,prune_originals" in prune
    deploy_env = dict(item.split("=", 1) for item in steps()["deploy-service"]["env"])
    assert deploy_env["SERVE_IMAGE"] == built["serve"]


def test_deploy_runs_after_migrations_and_uses_secrets_and_cloud_sql():
    order = [step["id"] for step in CLOUDBUILD["steps"]]
    assert order.index("migrate") < order.index("deploy-service")
    for job in ("migrate", "finetune-job", "prune-job"):
        args = " ".join(steps()[job]["args"])
        assert "SECRET_KEY=${_SECRET_KEY_SECRET}:latest" in args and "DATABASE_URL=${_DATABASE_URL_SECRET}" in args
        assert "--set-cloudsql-instances ${_CLOUDSQL_INSTANCE}" in args
    container = SERVICE["spec"]["template"]["spec"]["containers"][0]
    secrets = {env["name"] for env in container["env"] if "valueFrom" in env}
    assert secrets == {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
    annotations = SERVICE["spec"]["template"]["metadata"]["annotations"]
    assert annotations["run.googleapis.com/cloudsql-instances"] == "${CLOUDSQL_INSTANCE}"


def test_the_service_reaches_memorystore_and_trusts_one_proxy():
    """The rate limits count in Redis (Memorystore: private address only, so VPC egress), and the
    client's address is the one Cloud Run's front end appended."""
    annotations = SERVICE["spec"]["template"]["metadata"]["annotations"]
    assert json.loads(annotations["run.googleapis.com/network-interfaces"]) == [
        {"network": "${NETWORK}", "subnetwork": "${SUBNET}"}]
    assert annotations["run.googleapis.com/vpc-access-egress"] == "private-ranges-only"
    container = SERVICE["spec"]["template"]["spec"]["containers"][0]
    assert {env["name"]: env.get("value") for env in container["env"]}["TRUSTED_PROXIES"] == "1"


def test_probes_use_healthz():
    container = SERVICE["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": 8080}


def test_every_template_field_is_filled_by_the_deploy_step():
    fields = set(re.findall(r"\$\{(\w+)\}", (ROOT / "deploy" / "service.yaml").read_text()))
    provided = {item.split("=", 1)[0] for item in steps()["deploy-service"]["env"]}
    assert fields <= provided, fields - provided


def test_substitutions_cover_every_user_variable():
    used = set(re.findall(r"\$\{(_\w+)\}", (ROOT / "cloudbuild.yaml").read_text()))
    assert used <= set(CLOUDBUILD["substitutions"]), used - set(CLOUDBUILD["substitutions"])


def test_production_settings_pass_check_deploy():
    env = {**os.environ, "SECRET_KEY": "x" * 30 + "-not-a-real-key-but-long-and-random-enough-0123456789",
           "K_SERVICE": "mnistsite", "ALLOWED_HOSTS": ".run.app", "GS_BUCKET_NAME": "bucket"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_container_start_sequence_serves_health_and_a_prediction():
    """collectstatic, migrate and the Dockerfile's CMD against this test run's database server."""
    result = subprocess.run([sys.executable, "deploy/smoke.py"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite://")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "healthz: {'status': 'ok'" in result.stdout and "prediction: {'digit': 7" in result.stdout


def test_a_bucket_moves_uploads_and_models_to_cloud_storage():
    script = ("import django; django.setup(); from django.conf import settings; "
              "from django.core.files.storage import default_storage, storages; "
              "bucket = default_storage.bucket_name; originals = storages['originals']; "
              "print(settings.STORAGES['default']['BACKEND'], type(default_storage._wrapped).__name__, bucket, "
              "type(originals).__name__, originals.bucket_name, originals.location == default_storage.location)")
    env = {**os.environ, "GS_BUCKET_NAME": "my-bucket", "DJANGO_SETTINGS_MODULE": "mnistsite.settings"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-6:] == ["storages.backends.gcloud.GoogleCloudStorage", "GoogleCloudStorage",
                                          "my-bucket", "CreateOnlyCloudStorage", "my-bucket", "True"]
