"""Files in and out: audio decoding (the one ``SAMPLE_RATE``), atomic writes, content hashes."""
