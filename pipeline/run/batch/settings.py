"""Settings of a batch (``batch`` in a config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.core.settings import StrictSettings


class BatchConfig(StrictSettings):
    """Many recordings: which files a folder holds, and where and how they are processed.

    Nothing here changes a result, so the ledger leaves this section out of the
    config hash: switching executor never redoes finished work.
    """

    extensions: tuple[str, ...] = Field(
        ("wav", "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus", "webm", "mp4", "mkv", "mov", "wma"),
        description="extensions taken from folders (lower case, no dot); files named outright always are",
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="local: one process, models loaded once; ray: one task per recording"
    )
    ray_address: str | None = Field(
        None,
        description="None: start Ray on this machine; 'HOST:PORT' (the head's GCS port), 'auto' or "
        "'ray://HOST:10001': join that cluster",
    )
    ray_node_ip: str | None = Field(
        None,
        description="address the cluster reaches this driver at; None: the loopback address when "
        "ray_address is on loopback, else Ray's choice (the default route's address)",
    )
    ray_num_cpus: float = Field(1.0, gt=0, description="CPUs each Ray worker reserves, count")
    ray_num_gpus: float = Field(
        1.0, ge=0, description="GPUs each Ray worker reserves when the cluster has any, count"
    )
    ray_workers: int | None = Field(
        None, ge=1, description="Ray workers, each loading the models once; None: as many as resources allow"
    )
