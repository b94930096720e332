"""Shared fixtures: loopback provider servers, instrumentation helpers, and Phoenix."""

pytest_plugins = ["support.fixtures", "support.phoenix", "support.browser"]
