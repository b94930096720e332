"""Sub-commands of ``otel-jsonl``, one module per group (see ``otel_jsonl.cli``)."""
