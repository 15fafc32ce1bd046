"""Build an offline pyannote pipeline folder from randomly initialised models.

pyannote's weights are gated on the hub and cannot be had here, on CI or on a lent
GPU machine. This writes a folder laid out exactly like the hub's
``speaker-diarization-community-1`` (``config.yaml`` + ``segmentation/`` +
``embedding/`` + ``plda/``) with the same architectures — a powerset ``PyanNet``
(3 speakers, at most 2 at once, 10 s chunks), a ``WeSpeakerResNet34`` and a VBx PLDA
from identity transforms — so ``Pipeline.from_pretrained(folder)`` runs the real
code path. Random weights give random speakers: use it for plumbing and speed,
never for quality. Used by the integration test and by ``bench/gpu.sh``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

EMBEDDING_DIM = 256
"""WeSpeakerResNet34 embedding size."""

LDA_DIM = 128
"""PLDA space size pyannote's VBx uses."""


def build_local_pipeline(folder: Path, *, segmentation_step: float = 0.1, seed: int = 0) -> Path:
    """Write a community-1-shaped pipeline folder with random weights; return ``folder``.

    Parameters
    ----------
    folder
        Created if missing.
    segmentation_step
        Hop between 10 s segmentation chunks, as a fraction of the chunk (0.1 as on the hub;
        larger is faster, for tests).
    seed
        torch seed for the random weights.
    """
    import lightning
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(seed)
    segmentation = PyanNet()
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=10.0,
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    segmentation.build()
    embedding = WeSpeakerResNet34()
    embedding.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=10.0
    )
    for name, model in (("segmentation", segmentation), ("embedding", embedding)):
        checkpoint = {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": lightning.__version__,
        }
        model.on_save_checkpoint(checkpoint)  # adds pyannote's versions, architecture, specifications
        (folder / name).mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint, folder / name / "pytorch_model.bin")

    # pyannote 4 refuses plda=None: identity transforms make a valid (uninformative) PLDA.
    (folder / "plda").mkdir(exist_ok=True)
    np.savez(
        folder / "plda" / "xvec_transform.npz",
        mean1=np.zeros(EMBEDDING_DIM),
        mean2=np.zeros(LDA_DIM),
        lda=np.eye(EMBEDDING_DIM)[:, :LDA_DIM],
    )
    np.savez(folder / "plda" / "plda.npz", mu=np.zeros(LDA_DIM), tr=np.eye(LDA_DIM), psi=np.ones(LDA_DIM))

    config = {
        "version": "4.0.0",
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "clustering": "VBxClustering",
                "segmentation": "$model/segmentation",
                "segmentation_step": segmentation_step,
                "segmentation_batch_size": 32,
                "embedding": "$model/embedding",
                "embedding_batch_size": 32,
                "embedding_exclude_overlap": True,
                "plda": "$model/plda",
            },
        },
        "params": {
            "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
            "segmentation": {"min_duration_off": 0.0},
        },
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return folder
