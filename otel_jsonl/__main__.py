"""``python -m otel_jsonl``: the command line."""

import sys

from .cli import main

sys.exit(main())
