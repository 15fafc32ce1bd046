"""``report.html``: one self-contained page a person reads instead of the JSON.

Summary, a timeline with a lane per speaker and the hold-music band, talk-share and
turn-length charts, the interruption matrix, the longest monologues and the
speaker-labelled transcript. The file works offline: styles are inline, charts are
base64 PNGs (matplotlib, Agg), the timeline is inline SVG, and there is no script
at all. A Content-Security-Policy forbids scripts and remote loads, and every piece
of text from the recording (transcript, speaker names, file name) is HTML-escaped,
so a transcript saying ``<script>`` renders as text.
"""

from __future__ import annotations

import base64
import io
import logging
import math
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import __version__
from pipeline.core.timefmt import clock
from pipeline.core.types import FloorTurn, RecordingResult, Region
from pipeline.io.atomic import atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

# matplotlib's tab10: distinguishable, colour-blind tolerable, and the same in every chart.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
MUSIC_COLOR = "#b9b4c7"
MONOLOGUES_SHOWN = 10

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;
  background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px;word-break:break-all}h2{font-size:18px;margin:32px 0 10px}
.meta{color:#666;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:16px}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{border:1px solid #e3e3e3;padding:4px 8px;text-align:right}
th{background:#f2f2f2}td.name,th.name{text-align:left}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.scroll{overflow-x:auto}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.charts img{background:#fff;border:1px solid #e3e3e3;max-width:100%}
svg{background:#fff;border:1px solid #e3e3e3;max-width:100%;height:auto}
.transcript{background:#fff;border:1px solid #e3e3e3;padding:10px 14px}
.seg{margin:3px 0}.ts{color:#888;font-variant-numeric:tabular-nums;margin-right:6px}
.spk{font-weight:600;margin-right:6px}.music{color:#6d6880;font-style:italic}
.empty{color:#888;font-style:italic}
"""


def write_html(result: RecordingResult, out_dir: Path) -> Path:
    """``report.html``: the self-contained report (see the module docstring)."""
    return atomic_write_text(out_dir / "report.html", render_html(result))


def render_html(result: RecordingResult) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    turns = result.floor_turns
    colors = speaker_colors(result)
    title = f"speechpipe report: {Path(result.source).name}"
    body = "\n".join(
        [
            f"<h1>{escape(title)}</h1>",
            f'<div class="meta">{escape(result.source)} · {escape(clock(result.duration))} · '
            f"language {escape(result.language)} · speechpipe {escape(__version__)}</div>",
            _summary_cards(result),
            "<h2>Speakers</h2>",
            _speaker_table(result, colors),
            "<h2>Timeline</h2>",
            _timeline_svg(result, turns, colors),
            "<h2>Talk share and turn lengths</h2>",
            _charts(result, turns, colors),
            "<h2>Interruptions</h2>",
            _interruption_matrix(result, colors),
            "<h2>Longest monologues</h2>",
            _monologue_table(result, turns, colors),
            "<h2>Transcript</h2>",
            _transcript(result, colors),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


def speaker_colors(result: RecordingResult) -> dict[str, str]:
    """A colour per speaker: ``result.speakers`` order, then any other label seen."""
    labels = [s.speaker for s in result.speakers]
    for speaker in [t.speaker for t in result.overlapped_turns] + [s.speaker or "" for s in result.segments]:
        if speaker and speaker not in labels:
            labels.append(speaker)
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _swatch(speaker: str, colors: dict[str, str]) -> str:
    color = colors.get(speaker, "#444")
    return f'<span class="swatch" style="background:{color}"></span>{escape(speaker)}'


def _summary_cards(result: RecordingResult) -> str:
    conv = result.conversation
    cards = [
        ("recording", clock(conv.duration)),
        ("hold music", clock(conv.hold_music_time)),
        ("speech", clock(conv.speech_time)),
        ("silence", clock(conv.silence_time)),
        ("overlap", clock(conv.overlap_time)),
        ("speakers", str(conv.num_speakers)),
        ("balance (0 to 1)", "n/a" if conv.balance is None else f"{conv.balance:.2f}"),
    ]
    if conv.longest_stretch_speaker is not None:
        cards.append(
            (
                f"longest uninterrupted: {conv.longest_stretch_speaker}, "
                f"{clock(conv.longest_stretch_start)}–{clock(conv.longest_stretch_end)}",
                clock(conv.longest_stretch),
            )
        )
    items = "".join(f'<div class="card"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in cards)
    return f'<div class="cards">{items}</div>'


def _speaker_table(result: RecordingResult, colors: dict[str, str]) -> str:
    if not result.speakers:
        return '<p class="empty">No speech found.</p>'
    topics = [topic for topic, _ in result.speakers[0].keywords]
    headers = [
        "talk", "share", "turns", "mean turn", "median turn", "longest turn", "monologues", "words",
        "words/min", "backchannels", "interjections", "interrupts", "interrupted", "overlap",
        "questions", "median latency (s)", "fillers", *topics,
    ]  # fmt: skip
    rows = []
    for s in result.speakers:
        latency = "–" if s.median_response_latency is None else f"{s.median_response_latency:+.2f}"
        cells = [
            clock(s.talk_time), f"{s.share:.0%}", str(s.turns),
            f"{s.mean_turn:.1f} s", f"{s.median_turn:.1f} s",
            f"{clock(s.longest_turn)} ({clock(s.longest_turn_start)}–{clock(s.longest_turn_end)})",
            str(s.monologue_count), str(s.words), f"{s.words_per_minute:.0f}", str(s.backchannels),
            str(s.interjections), str(s.interruptions), str(s.interrupted), clock(s.overlap_time),
            str(s.questions), latency, str(s.fillers), *[str(n) for _, n in s.keywords],
        ]  # fmt: skip
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
        rows.append(f'<tr><td class="name">{_swatch(s.speaker, colors)}</td>{tds}</tr>')
    ths = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f'<div class="scroll"><table><tr><th class="name">speaker</th>{ths}</tr>{"".join(rows)}</table></div>'
    )


def _tick_step(duration: float) -> float:
    """A round tick interval giving at most about ten ticks, seconds."""
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if duration / step <= 10:
            return float(step)
    return 3600.0 * max(1, round(duration / 36000))


def _timeline_svg(result: RecordingResult, turns: Sequence[FloorTurn], colors: dict[str, str]) -> str:
    """Inline SVG: one lane per speaker, hold music as a band across all lanes."""
    lanes = list(colors) or ["(no speech)"]
    label_w, plot_w, lane_h, top, axis_h = 150, 900, 26, 8, 24
    height = top + lane_h * len(lanes) + axis_h
    scale = plot_w / result.duration if result.duration > 0 else 0.0

    def x(t: float) -> float:
        return label_w + max(0.0, min(t, result.duration)) * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {label_w + plot_w + 10} {height}" '
        f'width="{label_w + plot_w + 10}" height="{height}" role="img" aria-label="speaker timeline" '
        'font-family="system-ui,sans-serif" font-size="12">'
    ]
    for region in result.stripped:
        parts.append(_music_band(region, x, top, lane_h * len(lanes)))
    for i, speaker in enumerate(lanes):
        y = top + i * lane_h
        parts.append(
            f'<line x1="{label_w}" x2="{label_w + plot_w}" y1="{y + lane_h}" y2="{y + lane_h}" '
            'stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{label_w - 8}" y="{y + lane_h / 2 + 4}" text-anchor="end">'
            f"{escape(_clip(speaker, 22))}</text>"
        )
    lane_of = {speaker: i for i, speaker in enumerate(lanes)}
    for turn in turns:
        # Backchannels are drawn thin and pale: present, but not holding the floor.
        inset, opacity = {"turn": (3, 0.9), "interjection": (6, 0.8), "backchannel": (9, 0.55)}[turn.kind]
        y = top + lane_of.get(turn.speaker, 0) * lane_h + inset
        width = max(1.0, x(turn.end) - x(turn.start))
        tip = f"{turn.speaker} {clock(turn.start)}–{clock(turn.end)} ({turn.kind})"
        parts.append(
            f'<rect x="{x(turn.start):.1f}" y="{y}" width="{width:.1f}" height="{lane_h - 2 * inset}" '
            f'fill="{colors.get(turn.speaker, "#444")}" fill-opacity="{opacity}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    axis_y = top + lane_h * len(lanes)
    step = _tick_step(result.duration)
    tick = 0.0
    while tick <= result.duration:
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="#888"/>'
        )
        parts.append(
            f'<text x="{x(tick):.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#666">{clock(tick)}</text>'
        )
        tick += step
    parts.append("</svg>")
    legend = "hold music band" if result.stripped else "no hold music stripped"
    return (
        f'<div class="scroll">{"".join(parts)}</div><div class="meta">Full bars: turns; '
        f"thinner: interjections; thinnest, pale: backchannels; grey: {legend}.</div>"
    )


def _music_band(region: Region, x: Callable[[float], float], top: int, height: int) -> str:
    tip = f"hold music {clock(region.start)}–{clock(region.end)} ({region.kind})"
    return (
        f'<rect x="{x(region.start):.1f}" y="{top}" width="{max(1.0, x(region.end) - x(region.start)):.1f}" '
        f'height="{height}" fill="{MUSIC_COLOR}" fill-opacity="0.55"><title>{escape(tip)}</title></rect>'
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _charts(result: RecordingResult, turns: Sequence[FloorTurn], colors: dict[str, str]) -> str:
    if not result.speakers:
        return '<p class="empty">No speech found.</p>'
    share = _png_img(_share_chart(result, colors), "talk share per speaker")
    lengths = _png_img(_turn_length_chart(result, turns, colors), "turn lengths per speaker")
    return f'<div class="charts">{share}{lengths}</div>'


def _mpl_label(text: str) -> str:
    # matplotlib reads "$...$" as mathtext (and fails on a lone "$"): show dollars literally.
    return _clip(text, 22).replace("$", r"\$")


def _share_chart(result: RecordingResult, colors: dict[str, str]) -> bytes:
    from matplotlib.figure import Figure

    speakers = list(reversed(result.speakers))
    figure = Figure(figsize=(5.2, 0.5 + 0.45 * len(speakers)), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.barh(
        [_mpl_label(s.speaker) for s in speakers],
        [100 * s.share for s in speakers],
        color=[colors.get(s.speaker, "#444") for s in speakers],
    )
    for i, s in enumerate(speakers):
        axes.text(100 * s.share + 1, i, f"{s.share:.0%} · {clock(s.talk_time)}", va="center", fontsize=9)
    axes.set_xlim(0, 119)
    axes.set_xlabel("share of talk time (%)")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def _turn_length_chart(result: RecordingResult, turns: Sequence[FloorTurn], colors: dict[str, str]) -> bytes:
    return _png(turn_length_figure(result, turns, colors))


def turn_length_figure(result: RecordingResult, turns: Sequence[FloorTurn], colors: dict[str, str]) -> Figure:
    """Box plot of each speaker's turn lengths (seconds) on a log axis, a few plain labels on it."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    speakers = list(reversed(result.speakers))
    durations = [[t.duration for t in turns if t.speaker == s.speaker] or [float("nan")] for s in speakers]
    figure = Figure(figsize=(5.2, 0.5 + 0.45 * len(speakers)), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    boxes = axes.boxplot(durations, vert=False, patch_artist=True, widths=0.6, medianprops={"color": "black"})
    for box, s in zip(boxes["boxes"], speakers, strict=True):
        box.set_facecolor(colors.get(s.speaker, "#444"))
        box.set_alpha(0.75)
    axes.set_yticks(range(1, len(speakers) + 1), [_mpl_label(s.speaker) for s in speakers])
    # Turn lengths span backchannels (<1 s) to monologues (minutes): a log axis shows both.
    axes.set_xscale("log")
    # matplotlib's own log labels (2×10⁻¹, 3×10⁻¹, ... on the minor ticks) run into each other
    # over a decade or two: a few round values, written plainly, and no minor labels.
    low, high = axes.get_xlim()
    ticks = log_ticks(low, high)
    axes.set_xticks(ticks, [f"{tick:g}" for tick in ticks])
    axes.set_xlim(low, high)
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("turn length (s, log scale)")
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def log_ticks(low: float, high: float, *, most: int = 6) -> list[float]:
    """At most ``most`` round values between ``low`` and ``high`` (> 0) for a log axis.

    1, 2 and 5 times each power of ten when few enough fit, else 1 and 3, else the
    powers of ten, every second or third one over many decades.
    """
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ticks: list[float] = []
    for subs in ((1, 2, 5), (1, 3), (1,)):
        ticks = [float(f"{m}e{e}") for e in decades for m in subs if low <= float(f"{m}e{e}") <= high]
        if len(ticks) <= most:
            return ticks
    return ticks[:: math.ceil(len(ticks) / most)]


def _png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _png_img(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{encoded}">'


def _interruption_matrix(result: RecordingResult, colors: dict[str, str]) -> str:
    if not result.conversation.interruptions:
        return '<p class="empty">No interruptions.</p>'
    counts = {(a, b): n for a, b, n in result.conversation.interruptions}
    names = [s.speaker for s in result.speakers]
    header = "".join(f"<th>{_swatch(n, colors)}</th>" for n in names)
    rows = []
    for a in names:
        cells = "".join("<td>–</td>" if a == b else f"<td>{counts.get((a, b), 0)}</td>" for b in names)
        rows.append(f'<tr><td class="name">{_swatch(a, colors)}</td>{cells}</tr>')
    return (
        '<div class="meta">Rows interrupted columns: started while they talked and kept talking after '
        'they stopped.</div><div class="scroll"><table><tr><th class="name">interrupter \\ interrupted</th>'
        f"{header}</tr>{''.join(rows)}</table></div>"
    )


def _monologue_table(result: RecordingResult, turns: Sequence[FloorTurn], colors: dict[str, str]) -> str:
    config_min = result.config.get("metrics", {}).get("monologue_min_duration")
    found = sorted(
        (
            (speaker, start, end)
            for s in result.speakers
            for start, end in s.monologues
            for speaker in [s.speaker]
        ),
        key=lambda m: m[1] - m[2],
    )[:MONOLOGUES_SHOWN]
    if not found:
        # Still worth showing who held the floor longest, below the threshold.
        found = sorted(
            ((s.speaker, s.longest_turn_start, s.longest_turn_end) for s in result.speakers if s.turns),
            key=lambda m: m[1] - m[2],
        )[:MONOLOGUES_SHOWN]
        note = (
            "No monologues"
            + (f" (≥ {config_min:g} s)" if config_min else "")
            + "; the longest turns instead."
        )
    else:
        note = f"Monologues ≥ {config_min:g} s." if config_min else "Monologues."
    if not found:
        return '<p class="empty">No speech found.</p>'
    rows = []
    for speaker, start, end in found:
        others = [t for t in turns if t.speaker != speaker and start <= t.start < end]
        backchannels = sum(t.kind == "backchannel" for t in others)
        interjections = sum(t.kind == "interjection" for t in others)
        cells = [clock(end - start), f"{clock(start)}–{clock(end)}", str(backchannels), str(interjections)]
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
        rows.append(f'<tr><td class="name">{_swatch(speaker, colors)}</td>{tds}</tr>')
    return (
        f'<div class="meta">{escape(note)}</div><table><tr><th class="name">speaker</th><th>length</th>'
        "<th>when</th><th>others' backchannels</th><th>others' interjections</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _transcript(result: RecordingResult, colors: dict[str, str]) -> str:
    if not result.segments and not result.stripped:
        return '<p class="empty">No transcript.</p>'
    items: list[tuple[float, str]] = [
        (
            r.start,
            f'<div class="seg music"><span class="ts">[{clock(r.start)}]</span>♪ hold music until '
            f"{clock(r.end)} ({escape(clock(r.duration))}, {escape(r.kind)})</div>",
        )
        for r in result.stripped
    ]
    for segment in result.segments:
        speaker = segment.speaker or "?"
        items.append(
            (
                segment.start,
                f'<div class="seg"><span class="ts">[{clock(segment.start)}]</span>'
                f'<span class="spk" style="color:{colors.get(speaker, "#444")}">{escape(speaker)}</span>'
                f"<span>{escape(segment.text.strip())}</span></div>",
            )
        )
    items.sort(key=lambda item: item[0])
    return f'<div class="transcript">{"".join(html for _, html in items)}</div>'
