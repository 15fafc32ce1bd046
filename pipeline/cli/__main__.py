"""``python -m pipeline.cli``: the ``speechpipe`` command."""

import sys

from pipeline.cli.main import main

sys.exit(main())
