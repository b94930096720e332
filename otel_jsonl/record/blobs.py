"""A content-addressed store for capped values, named by their sha256: blob files and packs.

The store is a flat directory (by default ``blobs/`` next to the trace file), created ``0700``,
holding two forms side by side, both read by :meth:`BlobStore.get`:

- a **blob file** per value, named by its sha256 (what :meth:`BlobStore.put` writes, and what
  the recorder wrote before packs);
- **packs**, ``pack-<16 hex>.pack``: what a line writer appends its capped values to, one pack
  per writer (a run's process), so that a capped value costs one ``write`` on a descriptor
  already open rather than creating a file (about 0.3 ms each on a slow disk). A pack opens
  with the line ``otel-jsonl blob pack 1``; each entry is a header line ``<sha256> <size>``,
  the ``size`` bytes of the value, and a newline, appended with one ``write``.

Names are validated before any path is built, files are opened without following links, and
content is checked against its name on read: a blob reference can never reach outside the
store. A blob file is written to a temporary file with a random name, opened with ``O_EXCL``
and ``O_NOFOLLOW`` (a link planted in the directory is never written through), then renamed
into place; a pack is created the same way (``O_EXCL | O_NOFOLLOW``, a random name, ``0600``)
and only ever appended to by the writer that created it. An existing directory that others
may write to (group or other write, no sticky bit) is refused, or only warned about with
``insecure_dirs="warn"``. Standard library only; nothing beyond ``os`` is imported until it is
needed (the recorder's start-up).
"""

from __future__ import annotations

import os
import stat
from _thread import allocate_lock

from ..exceptions import BlobError
from .fileio import write_all

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from pathlib import Path

    from .writer_types import InsecureDirs

__all__ = ["PACK_MAGIC", "BlobStore", "InsecureDirs", "blob_dir_for", "check_directory"]

#: The first line of a pack file (its format version).
PACK_MAGIC = b"otel-jsonl blob pack 1\n"

_HEX = frozenset("0123456789abcdef")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NOFOLLOW
_READ = os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW
#: The longest pack entry header: 64 hex, a space, a size of up to 15 digits, a newline.
_HEADER_MAX = 81


def __getattr__(name: str) -> object:
    if name == "InsecureDirs":  # a typing alias: built on first use, not at import
        from . import writer_types

        return writer_types.InsecureDirs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_blob_name(name: object) -> bool:
    """True for a sha256 blob name: 64 lowercase hex characters."""
    return isinstance(name, str) and len(name) == 64 and _HEX.issuperset(name)


def blob_dir_for(trace_path: str | os.PathLike[str]) -> Path:
    """The default blob store of a trace file: ``blobs/`` in the trace's directory."""
    from pathlib import Path

    return Path(trace_path).parent / "blobs"


def _logger_warning(message: str) -> None:
    import logging  # on the first warning only: start-up stays small

    logging.getLogger("otel_jsonl").warning("otel-jsonl: %s", message)


def check_directory(
    path: str | os.PathLike[str], what: str, insecure_dirs: InsecureDirs
) -> str | None:
    """Check an existing directory the writer puts files in. Return None when it is safe, or
    the warning to give (``insecure_dirs="warn"``); raise PermissionError when it is refused.

    Unsafe means writable by group or others without the sticky bit (a sticky directory such
    as ``/tmp`` keeps others from renaming or deleting what is ours; links planted there are
    not followed anyway). A directory writable by its group only is safe when that group is
    the user's private group (named as the user, no other member), as ``mkdir`` makes them
    under umask 002."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{os.fspath(path)} is not a directory")
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o022 or mode & stat.S_ISVTX:
        return None
    if not mode & 0o002 and _private_group(st.st_gid):
        return None  # group-writable, but the group is the user's own (umask 002 systems)
    message = (
        f"the {what} {os.fspath(path)} is writable by "
        f"{'others' if mode & 0o002 else 'its group'} "
        f"(mode {mode:04o}): anyone who may write there could swap files under it"
    )
    if insecure_dirs == "refuse":
        raise PermissionError(
            f"{message}; refusing to write there (chmod go-w it, or pass "
            'insecure_dirs="warn" to write anyway)'
        )
    return message


def _private_group(gid: int) -> bool:
    """True when ``gid`` is the current user's private group: their primary group, named as
    they are, with no other member."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(os.getuid())
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    others = [m for m in group.gr_mem if m != user.pw_name]
    return user.pw_gid == gid and group.gr_name == user.pw_name and not others


def _sha256(data: bytes) -> str:
    import hashlib  # on the first capped value: start-up stays small

    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Content-addressed blobs under ``root``: files and packs ``0600`` in a ``0700``
    directory.

    ``insecure_dirs`` says what :meth:`put` and :meth:`append` do with an existing ``root``
    that others may write to: ``"refuse"`` (raise PermissionError, default) or ``"warn"`` (log
    once, write)."""

    def __init__(
        self, root: str | os.PathLike[str], *, insecure_dirs: InsecureDirs = "refuse"
    ) -> None:
        self._root = os.fspath(root)
        self.insecure_dirs = insecure_dirs
        self._checked = False
        self._lock = allocate_lock()
        self._pack_fd: int | None = None
        self._pack_dirty = False
        #: sha256 -> (pack name, offset of the value, size), for the packs scanned so far;
        #: and how far each pack was scanned (a pack may still be growing).
        self._index: dict[str, tuple[str, int, int]] = {}
        self._scanned: dict[str, int] = {}

    @property
    def root(self) -> Path:
        """The store's directory."""
        from pathlib import Path

        return Path(self._root)

    def path_for(self, sha256: str) -> Path:
        """The path a blob file with this name has in the store; raises BlobError on a bad
        name."""
        if not is_blob_name(sha256):
            raise BlobError(f"not a sha256 blob name: {sha256!r}")
        return self.root / sha256

    # -- writing ---------------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        """Store ``data`` as a blob file of its own (once: an existing blob is not rewritten)
        and return its sha256."""
        digest = _sha256(data)
        target = os.path.join(self._root, digest)
        self._prepare()
        if os.path.lexists(target):
            return digest
        # A random name, created exclusively and never through a link: a name another user
        # could guess and plant a symlink at would let a capped step overwrite their choice
        # of file.
        tmp = os.path.join(self._root, f".{digest[:16]}.{os.urandom(8).hex()}.tmp")
        fd = os.open(tmp, _CREATE, 0o600)
        try:
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
            # rename is atomic: a reader never sees half a blob, and two writers of the same
            # content race harmlessly.
            os.replace(tmp, target)
        except BaseException:
            try:  # noqa: SIM105 - contextlib is not imported at start-up
                os.unlink(tmp)
            except OSError:  # gone already: the error raised is what matters
                pass
            raise
        return digest

    def append(self, data: bytes, sha256: str | None = None) -> str:
        """Store ``data`` in this store's pack with one ``write`` (the pack is created on the
        first call) and return its sha256 (given when the caller has it already)."""
        digest = sha256 if sha256 is not None else _sha256(data)
        header = b"%s %d\n" % (digest.encode("ascii"), len(data))
        with self._lock:
            if self._pack_fd is None:
                self._prepare()
                self._pack_fd = self._new_pack()
            # One writev, without copying the value into an entry: on an O_APPEND descriptor
            # the entry lands whole, after whatever another thread or a forked child appended.
            try:
                n = os.writev(self._pack_fd, (header, data, b"\n"))
                if n != len(header) + len(data) + 1:
                    write_all(self._pack_fd, (header + data + b"\n")[n:])
            except BaseException:
                # An entry may be torn (a full disk): readers stop at it, so nothing more goes
                # into this pack; the next value starts a new one.
                fd, self._pack_fd = self._pack_fd, None
                try:  # noqa: SIM105 - contextlib is not imported at start-up
                    os.close(fd)
                except OSError:  # closed already: the error raised is what matters
                    pass
                raise
            self._pack_dirty = True
        return digest

    def _new_pack(self) -> int:
        """Create this writer's pack: a random name, exclusively, never through a link."""
        while True:
            name = os.path.join(self._root, f"pack-{os.urandom(8).hex()}.pack")
            try:
                fd = os.open(name, _CREATE | os.O_APPEND, 0o600)
            except FileExistsError:  # taken (by chance, or planted): another name
                continue
            try:
                write_all(fd, PACK_MAGIC)
            except BaseException:
                os.close(fd)
                raise
            return fd

    def sync(self) -> None:
        """fsync the pack, when something was appended since the last sync."""
        with self._lock:
            fd, dirty, self._pack_dirty = self._pack_fd, self._pack_dirty, False
        if fd is not None and dirty:
            os.fsync(fd)

    def close(self) -> None:
        """Close the pack this store appends to (twice is safe); reading goes on working."""
        with self._lock:
            fd, self._pack_fd = self._pack_fd, None
        if fd is not None:
            os.close(fd)

    def _prepare(self) -> None:
        """Create the store ``0700``, or check an existing one (once per store)."""
        if self._checked:
            return
        if not os.path.lexists(self._root):
            os.makedirs(self._root, mode=0o700, exist_ok=True)
        else:
            warning = check_directory(self._root, "blob directory", self.insecure_dirs)
            if warning is not None:
                _logger_warning(warning)
        self._checked = True

    # -- reading ---------------------------------------------------------------------------

    def get(self, sha256: str) -> bytes:
        """Read a blob (its file, else its pack entry), refusing links and anything whose
        content does not match its name."""
        target = self.path_for(sha256)
        try:
            root_real = os.path.realpath(self._root)
            if os.path.dirname(os.path.realpath(target)) != root_real:
                raise BlobError(f"blob {sha256} resolves outside the blob store {self._root}")
            fd = os.open(target, _READ)
        except FileNotFoundError:
            data = self._from_pack(sha256)
            if data is None:
                raise BlobError(f"blob {sha256} is not in the blob store {self._root}") from None
        except OSError as exc:
            raise BlobError(f"blob {sha256} cannot be opened safely: {exc.strerror}") from None
        else:
            with os.fdopen(fd, "rb") as f:
                data = f.read()
        if _sha256(data) != sha256:
            raise BlobError(f"blob {sha256} does not match its content (corrupted or replaced)")
        return data

    def get_text(self, sha256: str) -> str:
        """Read a blob holding a capped string value."""
        return self.get(sha256).decode("utf-8", "replace")

    def unpack(self, sha256: str) -> Path | None:
        """The blob's own file, written from its pack entry first when it is only in a pack
        (for a page that links to it); None when the store does not hold it."""
        target = self.path_for(sha256)
        if os.path.lexists(target):
            return target
        data = self._from_pack(sha256)
        if data is None or _sha256(data) != sha256:
            return None
        self.put(data)
        return target

    def _from_pack(self, sha256: str) -> bytes | None:
        """The bytes of the pack entry named ``sha256``, or None (not verified here)."""
        if sha256 not in self._index:
            self._scan_packs()
        where = self._index.get(sha256)
        if where is None:
            return None
        name, offset, size = where
        try:
            fd = os.open(os.path.join(self._root, name), _READ)
        except OSError as exc:
            raise BlobError(f"pack {name} cannot be opened safely: {exc.strerror}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BlobError(f"pack {name} in {self._root} is not a regular file")
            data = os.pread(fd, size, offset)
        finally:
            os.close(fd)
        return data if len(data) == size else None

    def _scan_packs(self) -> None:
        """Index the entries of every pack in the store, from where each was last scanned."""
        try:
            names = [
                e.name
                for e in os.scandir(self._root)
                if e.name.startswith("pack-") and e.name.endswith(".pack")
            ]
        except OSError:
            return
        for name in names:
            try:
                fd = os.open(os.path.join(self._root, name), _READ)
            except OSError:
                continue  # a link, or gone: not a pack this store reads
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    self._scan_pack(fd, name)
            finally:
                os.close(fd)

    def _scan_pack(self, fd: int, name: str) -> None:
        offset = self._scanned.get(name, 0)
        if offset == 0:
            if os.pread(fd, len(PACK_MAGIC), 0) != PACK_MAGIC:
                return  # not a pack of ours
            offset = len(PACK_MAGIC)
        end = os.fstat(fd).st_size
        while offset < end:
            head = os.pread(fd, _HEADER_MAX, offset)
            nl = head.find(b"\n")
            if nl < 0:
                break  # a header still being written, or torn: stop here
            sha, _, size_text = head[:nl].partition(b" ")
            if not size_text.isdigit() or not is_blob_name(sha.decode("ascii", "replace")):
                break  # not an entry: the rest of this pack cannot be trusted to parse
            size = int(size_text)
            start = offset + nl + 1
            if start + size + 1 > end:
                break  # an entry still being written, or torn by a crash
            self._index.setdefault(sha.decode("ascii"), (name, start, size))
            offset = start + size + 1
        self._scanned[name] = offset
