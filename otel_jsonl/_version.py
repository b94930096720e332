"""The package version, read by hatchling and by ``otel-jsonl --version``."""

__version__ = "0.1.0.dev0"
