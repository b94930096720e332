"""The writer's options: :class:`WriterOptions`, the one options object of every entry point
that writes a trace file (``Trace``, ``LineWriter``, the exporters, ``configure()``), re-exported
by :mod:`.writer`. A plain class rather than a dataclass: ``dataclasses`` imports ``inspect``,
a tenth of the recorder's start-up. Standard library only."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from collections.abc import Iterable, Mapping
    from typing import Any

    from .redact import Redactor
    from .rotate import RotationPolicy
    from .writer_types import FsyncPolicy, InsecureDirs

__all__ = ["DEFAULT_CAP", "WriterOptions"]

#: Default cap, in UTF-8 bytes, of one string value on a line.
DEFAULT_CAP = 4096


#: The fields of :class:`WriterOptions`, in the order of its positional form.
_FIELDS: tuple[str, ...] = ("cap", "blob_dir", "redact", "redact_patterns", "fsync", "strict")
_FIELDS += ("rotate", "follow_symlinks", "insecure_dirs")


class WriterOptions:
    """How lines are written: the one options object of every entry point that writes a trace
    file (``Trace``, ``LineWriter``, the exporters, ``configure()``). Immutable, compared by
    value.

    ``cap`` is the cap per string value in UTF-8 bytes (0 turns capping off); ``blob_dir`` where
    full values go (default ``blobs/`` beside the trace; with a stream and no ``blob_dir`` a
    capped value is truncated with no blob). ``redact`` turns the built-in secret families on
    or off, or is a :class:`~otel_jsonl.record.redact.Redactor` of your own (allow-list, PII
    hook, fingerprint key); ``redact_patterns`` adds patterns (a mapping name -> regex, or
    regexes). ``fsync`` is ``"never"``, ``"close"`` (default), ``"line"`` or N (every N writes).
    ``strict`` raises write failures instead of counting them (for tests). ``rotate`` rotates
    the file by a :class:`~otel_jsonl.record.rotate.RotationPolicy` (size and/or daily, keep N
    files and/or D days, gzip; safe with several processes on one path).
    ``follow_symlinks`` (default False) lets the trace path be a symbolic link to a file (a
    link to a device or pipe, such as ``/dev/stdout``, is always followed).
    ``insecure_dirs`` is what happens to an existing trace or blob directory that others may
    write to: ``"refuse"`` (default: nothing is written there, each step is dropped and the
    reason logged) or ``"warn"`` (logged once, written). Bad values raise ValueError here, at
    construction.
    """

    # A plain class rather than a dataclass: ``dataclasses`` imports ``inspect``, a tenth of
    # the recorder's start-up. Same behaviour: positional or keyword construction in this
    # order, validation here, frozen, equality and repr by field.
    __slots__ = _FIELDS

    cap: int
    blob_dir: str | os.PathLike[str] | None
    redact: bool | Redactor
    redact_patterns: Mapping[str, str] | Iterable[str]
    fsync: FsyncPolicy
    strict: bool
    rotate: RotationPolicy | None
    follow_symlinks: bool
    insecure_dirs: InsecureDirs

    def __init__(
        self,
        cap: int = DEFAULT_CAP,
        blob_dir: str | os.PathLike[str] | None = None,
        redact: bool | Redactor = True,
        redact_patterns: Mapping[str, str] | Iterable[str] = (),
        fsync: FsyncPolicy = "close",
        strict: bool = False,
        rotate: RotationPolicy | None = None,
        follow_symlinks: bool = False,
        insecure_dirs: InsecureDirs = "refuse",
    ) -> None:
        if insecure_dirs not in ("refuse", "warn"):
            raise ValueError(f"insecure_dirs must be 'refuse' or 'warn', got {insecure_dirs!r}")
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
            raise ValueError(f"cap must be a whole number of bytes >= 0 (0 = off), got {cap!r}")
        if not (
            fsync in ("never", "close", "line")
            or (isinstance(fsync, int) and not isinstance(fsync, bool) and fsync > 0)
        ):
            raise ValueError(f"fsync must be 'never', 'close', 'line' or N > 0, got {fsync!r}")
        values = (cap, blob_dir, redact, redact_patterns, fsync, strict, rotate)
        for name, value in zip(_FIELDS, (*values, follow_symlinks, insecure_dirs), strict=True):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"WriterOptions is immutable: cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"WriterOptions is immutable: cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, WriterOptions)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"WriterOptions({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (WriterOptions, self._values())

    @classmethod
    def build(cls, options: WriterOptions | None = None, **overrides: Any) -> WriterOptions:
        """``options`` (default: the defaults) with the keyword ``overrides`` applied."""
        base = options if options is not None else cls()
        unknown = set(overrides).difference(_FIELDS)
        if unknown:
            raise TypeError(f"unknown writer option(s): {', '.join(sorted(unknown))}")
        if not overrides:
            return base
        values = dict(zip(_FIELDS, base._values(), strict=True))
        values.update(overrides)
        return cls(**values)
