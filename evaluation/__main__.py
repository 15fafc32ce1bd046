"""``python -m evaluation``: the evaluation harness (see ``evaluation.cli``)."""

import sys

from evaluation.cli import main

sys.exit(main())
