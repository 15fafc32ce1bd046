"""CAM++ network: shapes, the checkpoint's parameter names, features (random weights, no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.io.audio import load_audio
from pipeline.models.campplus import (
    EMBEDDING_DIM,
    MIN_FRAMES,
    NUM_MEL_BINS,
    CAMPPlus,
    fbank,
    load_campplus,
    read_campplus,
)


def test_embeds_any_length_from_the_shortest_to_a_batch() -> None:
    model = CAMPPlus().eval()
    with torch.inference_mode():
        for frames in (MIN_FRAMES, 101, 300):
            out = model(torch.randn(2, frames, NUM_MEL_BINS))
            assert out.shape == (2, EMBEDDING_DIM) and torch.isfinite(out).all()


def test_a_3d_speaker_checkpoint_loads_by_name(tmp_path: Path) -> None:
    """3D-Speaker keeps the embedding layer inside ``xvector``; the loader maps it (strictly)."""
    torch.manual_seed(0)
    original = CAMPPlus().eval()
    state = {
        (f"xvector.{key}" if key.startswith("dense.") else key): value
        for key, value in original.state_dict().items()
    }
    assert any(key.startswith("xvector.dense.linear") for key in state)
    torch.save(state, tmp_path / "campplus.pt")
    loaded = read_campplus(tmp_path / "campplus.pt")
    features = torch.randn(1, 200, NUM_MEL_BINS)
    with torch.inference_mode():
        assert torch.allclose(loaded(features), original(features), atol=1e-5)
    assert not loaded.training


def test_fbank_is_kaldi_80_bins_every_10_ms() -> None:
    second = torch.from_numpy(np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1)
    features = fbank(second)
    assert features.shape == (98, NUM_MEL_BINS)  # 25 ms windows, 10 ms hop, edges snipped
    assert torch.isfinite(features).all()


@pytest.mark.slow
def test_real_weights_tell_voices_apart(shared_data: Path) -> None:
    """CMU ARCTIC: three sentences each of two voices; same voice scores far above different."""
    model, identity = load_campplus()
    assert identity.name == "campplus" and identity.sha256 is not None
    clips = sorted((shared_data / "singlespeaker").glob("pra_cmu_arctic_us_*.wav"))
    if len(clips) < 6:
        pytest.skip("CMU ARCTIC clips not in ../shared/data")
    vectors = []
    for clip in clips:
        features = fbank(torch.from_numpy(load_audio(clip)))
        with torch.inference_mode():
            vector = model((features - features.mean(dim=0))[None])[0].numpy()
        vectors.append(vector / np.linalg.norm(vector))
    similarity = np.array(vectors) @ np.array(vectors).T
    voice = np.array(["aew" in c.name for c in clips])
    same = similarity[np.equal.outer(voice, voice) & ~np.eye(len(clips), dtype=bool)]
    different = similarity[~np.equal.outer(voice, voice)]
    assert same.min() > 0.6 > 0.3 > different.max()  # measured: same 0.72-0.84, different 0.00-0.19
