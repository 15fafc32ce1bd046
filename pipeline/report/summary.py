"""A short per-speaker table on the terminal after each run (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.core.timefmt import clock
from pipeline.core.types import RecordingResult


def print_summary(result: RecordingResult, console: Console) -> None:
    """Print one recording's speakers and conversation totals.

    Parameters
    ----------
    result
        A finished recording.
    console
        Where to print (the CLI passes its stderr or stdout console).
    """
    conv = result.conversation
    table = Table(title=result.source, title_justify="left", show_edge=False, pad_edge=False)
    for header in (
        "speaker",
        "talk",
        "share",
        "turns",
        "longest",
        "wpm",
        "backch.",
        "interj.",
        "interr.",
        "?",
    ):
        table.add_column(
            header, justify="left" if header == "speaker" else "right", no_wrap=header != "speaker"
        )
    for s in result.speakers:
        table.add_row(
            Text(s.speaker),  # Text, not a str: a name like "[bold]" must not be read as markup
            clock(s.talk_time),
            f"{s.share:.0%}",
            str(s.turns),
            clock(s.longest_turn),
            f"{s.words_per_minute:.0f}",
            str(s.backchannels),
            str(s.interjections),
            str(s.interruptions),
            str(s.questions),
        )
    if not result.speakers:
        table.add_row(Text("no speech found"), *[""] * 9)
    console.print(table)
    balance = "n/a" if conv.balance is None else f"{conv.balance:.2f}"
    line = (
        f"length {clock(conv.duration)} · hold music {clock(conv.hold_music_time)} · "
        f"speech {clock(conv.speech_time)} · silence {clock(conv.silence_time)} · "
        f"overlap {clock(conv.overlap_time)} · {conv.num_speakers} speakers · balance {balance}"
    )
    if conv.longest_stretch_speaker is not None:
        line += (
            f" · longest uninterrupted: {conv.longest_stretch_speaker} {clock(conv.longest_stretch)} "
            f"at {clock(conv.longest_stretch_start)}"
        )
    console.print(Text(line, style="dim"))
