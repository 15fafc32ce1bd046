"""Files in and out: audio decoding (the one ``SAMPLE_RATE``; downmix, choice of stream, regular files
only), atomic writes, content hashes."""
