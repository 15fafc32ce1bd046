"""Silero voice activity detection (the ONNX model faster-whisper ships), in bounded memory.

Shared by the hold-music guard and voice enrollment. The model reads its
input rows as one sequence and returns its recurrent state, so audio is fed in
blocks with the state carried over: hours of audio never become one tensor, and
the probabilities are the same as in one call.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from pipeline.core.errors import ModelError

SAMPLE_RATE = 16_000
"""Hz; the only rate this model takes."""
CHUNK = 512
"""Samples per Silero step (32 ms)."""
CONTEXT = 64
"""Samples of the previous chunk each step also sees, as faster-whisper feeds it."""
_BLOCK = 4096  # chunks per model call: about 2 minutes of audio at stride 1


def silero_path() -> Path:
    """The Silero VAD ONNX file faster-whisper ships (located without importing it).

    Raises
    ------
    ModelError
        faster-whisper is not installed, or its asset is missing.
    """
    spec = importlib.util.find_spec("faster_whisper")
    path = Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise ModelError(
            "Silero VAD not found (faster_whisper/assets/silero_vad_v6.onnx); "
            "install faster-whisper>=1.1 in this environment"
        )
    return path


class SileroVad:
    """Silero speech probabilities with onnxruntime, one thread."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        self.path = path or silero_path()
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
