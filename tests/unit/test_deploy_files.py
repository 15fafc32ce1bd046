"""The scheduled-job files parse and agree with the package: Dockerfile, CronJob, cloud config."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from pipeline.cli.main import build_parser
from pipeline.models.registry import load_registry
from pipeline.run.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        continued = line.endswith("\\")
        body = line.removesuffix("\\") if continued else line
        pending = f"{pending} {body}".strip()
        if not continued:
            keyword, _, rest = pending.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
            pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def docker() -> list[tuple[str, str]]:
    return dockerfile_instructions(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def cronjob() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "cronjob.yaml").read_text(encoding="utf-8"))


def test_dockerfile_builds_on_a_cuda_runtime_image(docker):
    keyword, image = docker[0]
    assert keyword == "FROM"
    assert re.fullmatch(r"nvidia/cuda:12\.[\d.]+-cudnn-runtime-ubuntu[\d.]+", image), image
    known = {"FROM", "ENV", "RUN", "WORKDIR", "COPY", "USER", "ENTRYPOINT", "CMD", "ARG", "LABEL"}
    assert {k for k, _ in docker} <= known


def test_dockerfile_copies_only_what_exists(docker):
    for keyword, args in docker:
        if keyword == "COPY":
            *sources, _ = shlex.split(args)
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_dockerfile_pulls_the_cloud_models_at_build_time(docker):
    runs = " ".join(args for keyword, args in docker if keyword == "RUN")
    pulled = re.findall(r"speechpipe models pull (\S+)", runs)
    registry = load_registry()
    assert pulled and all(name in registry for name in pulled)
    cloud = load_config("cloud")
    assert cloud.asr.model in pulled
    assert cloud.diarization.pyannote.pipeline in {*pulled, "offline"}
    if cloud.diarization.pyannote.pipeline == "offline":
        assert {"segmentation-3.0", "campplus"} <= set(pulled)
    assert "speechpipe models verify" in runs
    assert "--mount=type=secret,id=hf_token" in runs  # the hub token never lands in a layer
    assert "pip install -c constraints.txt" in runs


def test_dockerfile_runs_speechpipe_as_a_user(docker):
    entry = [args for keyword, args in docker if keyword == "ENTRYPOINT"]
    assert [json.loads(e) for e in entry] == [["speechpipe"]]
    users = [args for keyword, args in docker if keyword == "USER"]
    assert users and users[-1] not in {"0", "root"}


def test_cloud_config_points_at_the_image_models():
    cloud = load_config("cloud")
    assert cloud.models_dir == Path("/opt/speechpipe/models")
    assert cloud.batch.executor == "local" and cloud.asr.device == "auto"


def test_cronjob_is_a_valid_nightly_job(cronjob):
    assert (cronjob["apiVersion"], cronjob["kind"]) == ("batch/v1", "CronJob")
    spec = cronjob["spec"]
    fields = spec["schedule"].split()
    assert len(fields) == 5 and all(re.fullmatch(r"[\d*/,-]+", f) for f in fields)
    assert spec["concurrencyPolicy"] == "Forbid"  # two runs must not share one ledger
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in {"Never", "OnFailure"}
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"] for v in pod["volumes"]}
    assert set(mounts) <= volumes


def test_cronjob_arguments_are_a_valid_batch_command(cronjob):
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    args = build_parser().parse_args(container["args"])
    assert args.command == "batch"
    assert args.since == "last" and args.log_format == "json"
    load_config(args.config)  # the named config exists and validates
    mounted = [m["mountPath"] for m in container["volumeMounts"]]
    assert any(str(args.output).startswith(m) for m in mounted), "outputs and ledger must persist"


@pytest.fixture(scope="module")
def rayjob() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "rayjob.yaml").read_text(encoding="utf-8"))


def test_rayjob_runs_the_cronjobs_command_joining_its_cluster(rayjob, cronjob):
    assert (rayjob["apiVersion"], rayjob["kind"]) == ("ray.io/v1", "RayJob")
    program, *argv = shlex.split(rayjob["spec"]["entrypoint"])
    assert program == "speechpipe"
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert argv == [*container["args"], "--ray-address=auto"]
    args = build_parser().parse_args(argv)
    assert args.ray_address == "auto"
    assert rayjob["spec"]["shutdownAfterJobFinishes"] is True


def test_rayjob_pods_share_the_image_the_volume_and_the_worker_size(rayjob, cronjob):
    cluster = rayjob["spec"]["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    image = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    output = build_parser().parse_args(shlex.split(rayjob["spec"]["entrypoint"])[1:]).output
    for group in groups:
        pod = group["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == image
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        # The driver writes outputs and ledger, every worker the stage cache beside them.
        assert str(output) in mounts and mounts[str(output)] in {v["name"] for v in pod["volumes"]}
    cloud = load_config("cloud")
    for group in cluster["workerGroupSpecs"]:
        assert float(group["rayStartParams"]["num-cpus"]) >= cloud.batch.ray_num_cpus
        gpus = group["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
        assert gpus >= cloud.batch.ray_num_gpus
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"  # no worker on the head
