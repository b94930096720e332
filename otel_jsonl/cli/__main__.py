"""``python -m otel_jsonl.cli``: the command line."""

import sys

from . import main

sys.exit(main())
