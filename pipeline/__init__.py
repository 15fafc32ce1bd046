"""speechpipe: speech analytics for long recorded audio."""

__version__ = "0.1.0"
