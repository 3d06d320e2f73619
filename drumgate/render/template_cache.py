"""Compiled templates kept between runs, so a command renders without compiling its template again.

Compiling the health page's template takes 25-30 ms of one core in every `drumgate health`, about as
long as the rest of its report. jinja2's own `FileSystemBytecodeCache` keeps the compiled code, one
file per template, and takes it back only when the sha1 of the template's source and the jinja2 and
Python versions are those it was compiled from: an edited template or an upgrade compiles again.

The files are unpickled and their code runs, so the folder must be drumgate's own: `templates/`
under `scanmemo.cache_root()`, owner-only (0700, `statcache.private_folder`). A folder others may
write to is not used, and a file that cannot be read, written or decoded counts as not kept.
"""

from __future__ import annotations

import contextlib

import jinja2
from jinja2.bccache import Bucket

from drumgate.io.scanmemo import cache_root
from drumgate.io.statcache import private_folder

FOLDER = "templates"


class _KeptTemplates(jinja2.FileSystemBytecodeCache):
    """jinja2's cache, with a file it cannot use taken as absent rather than as an error."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a cut or foreign file (pickle and marshal raise many kinds): compile again
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):  # a full disk or a read-only home: the next run compiles again
            super().dump_bytecode(bucket)


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """The cache for a jinja2 Environment, or None where no private folder can be had."""
    folder = cache_root() / FOLDER
    try:
        private_folder(folder)
    except OSError:  # PermissionError included: a folder others may write to
        return None
    return _KeptTemplates(str(folder))
