"""The ``speechpipe`` command line: parse flags into one options object and call the runner."""
