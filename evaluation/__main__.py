"""``python -m evaluation``: the evaluation harness (see ``evaluation.command``)."""

import sys

from evaluation.command import main

sys.exit(main())
