"""Silero voice activity detection (the ONNX model faster-whisper ships), in bounded memory.

Registered as ``silero-vad`` (``models/registry.yaml``) and checked by sha256 when it
loads. Shared by the hold-music guard and voice enrollment. The model reads its
input rows as one sequence and returns its recurrent state, so audio is fed in
blocks with the state carried over: hours of audio never become one tensor, and
the probabilities are the same as in one call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.models.registry import resolve_model

REGISTRY_NAME = "silero-vad"
MODEL_FILE = "silero_vad_v6.onnx"
CHUNK = 512
"""Samples per Silero step: 32 ms at 16 kHz (``pipeline.io.audio.SAMPLE_RATE``), its only rate."""
CONTEXT = 64
"""Samples of the previous chunk each step also sees, as faster-whisper feeds it."""
_BLOCK = 4096  # chunks per model call: about 2 minutes of audio at stride 1


class SileroVad:
    """Silero speech probabilities with onnxruntime, one thread.

    Parameters
    ----------
    models_dir
        The models folder (unused by this embedded model; ``None``: the default).

    Raises
    ------
    ModelError
        faster-whisper is not installed, or its Silero file fails its checksum.
    """

    def __init__(self, *, models_dir: Path | None = None) -> None:
        import onnxruntime  # loads its native library: only when a stage loads its models

        folder, self.identity = resolve_model(REGISTRY_NAME, models_dir=models_dir)
        self.path = folder / MODEL_FILE
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        # No memory arena: onnxruntime would keep the largest block's buffers for good
        # (about 0.15 GB after hours of audio); blocks are big enough that this costs nothing.
        opts.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(
            str(self.path), providers=["CPUExecutionProvider"], sess_options=opts
        )

    def probabilities(self, audio: np.ndarray, *, stride: int = 1, pad_end: bool = False) -> np.ndarray:
        """Speech probability of consecutive 32 ms chunks of 16 kHz ``audio``.

        Parameters
        ----------
        audio
            Shape ``(samples,)``, float32.
        stride
            Score only every ``stride``-th chunk (the model sees them in sequence).
        pad_end
            Also score the last partial chunk, zero-padded.

        Returns
        -------
        np.ndarray
            Shape ``(ceil(chunks / stride),)`` with ``chunks = samples // 512``
            (rounded up with ``pad_end``), float32 in [0, 1].
        """
        n = (audio.size + (CHUNK - 1 if pad_end else 0)) // CHUNK
        if n == 0:
            return np.zeros(0, np.float32)
        h = c = np.zeros((1, 1, 128), np.float32)
        out: list[np.ndarray] = []
        window = np.arange(-CONTEXT, CHUNK)
        for first in range(0, n, _BLOCK * stride):
            index = np.arange(first, min(n, first + _BLOCK * stride), stride)
            lo, hi = int(index[0]) * CHUNK - CONTEXT, int(index[-1]) * CHUNK + CHUNK
            # A zero-padded copy of this block only (no context before the first chunk,
            # zeros after the last sample).
            block = np.zeros(hi - lo, np.float32)
            piece = audio[max(lo, 0) : hi]
            block[max(0, -lo) : max(0, -lo) + piece.size] = piece
            rows = block[(index * CHUNK - lo)[:, None] + window]
            probs, h, c = self._session.run(None, {"input": rows, "h": h, "c": c})
            out.append(np.asarray(probs, np.float32).reshape(-1))
        return np.concatenate(out)
