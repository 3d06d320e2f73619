"""Compiled templates kept between runs, so a command renders without compiling its template again.

Compiling the health page's template takes 25-30 ms of one core in every `drumgate health`, about as
long as the rest of its report. jinja2's own `FileSystemBytecodeCache` keeps the compiled code, one
file per template, taken back only when the sha1 of the template's source matches.

The source is not all a template's code depends on: the Environment's settings are compiled in (its
escaping, its `finalize`, block trimming), and constant expressions are folded at compile time
through its filters. So each file is also named by `environment_fingerprint`: jinja2's and Python's
versions, drumgate's, those settings, and the code of every function drumgate gives the Environment
(a helper those functions call is covered by drumgate's version; the test suite keeps a cache of its
own per run). A change to any of them compiles again, under another name.

The files are unpickled and their code runs, so the folder must be drumgate's own: `templates/`
under `scanmemo.cache_root()`, owner-only (0700, `statcache.private_folder`). A folder others may
write to is not used, nor one inside a folder where another user could rename it and put their own
in its place (not owned by root or the user, or writable by others and not sticky); a file that
cannot be read, written or decoded counts as not kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import sys

import jinja2
from jinja2.bccache import Bucket

from drumgate import __version__
from drumgate.io.scanmemo import cache_root
from drumgate.io.statcache import private_folder

FOLDER = "templates"
# The Environment options the lexer and the code generator read: each changes the compiled code.
COMPILED_OPTIONS = (
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized", "is_async",
)


def _own_functions(environment: jinja2.Environment) -> list[object]:
    """The finalize, filters and tests drumgate gives (jinja2's own are covered by its version)."""
    functions = [environment.finalize, *environment.filters.values(), *environment.tests.values()]
    return [function for function in functions
            if function is not None and not getattr(function, "__module__", "").startswith("jinja2")]


def environment_fingerprint(environment: jinja2.Environment, name: str) -> str:
    """What, besides the template's source, the code compiled from template `name` depends on."""
    escaping = environment.autoescape(name) if callable(environment.autoescape) else environment.autoescape
    settings = (jinja2.__version__, sys.version_info[:2], __version__, escaping, environment.undefined.__qualname__,
                sorted(environment.extensions), *(getattr(environment, option) for option in COMPILED_OPTIONS))
    digest = hashlib.sha256(repr(settings).encode("utf-8"))
    for function in _own_functions(environment):
        code = getattr(function, "__code__", None)
        # marshal format 2 writes no back-references, so the same code gives the same bytes in every run
        digest.update(marshal.dumps(code, 2) if code is not None else repr(function).encode("utf-8"))
    return digest.hexdigest()[:20]


class _KeptTemplates(jinja2.FileSystemBytecodeCache):
    """jinja2's cache, with files named by the Environment too and a file it cannot use taken as absent."""

    def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None, source: str) -> Bucket:
        key = f"{self.get_cache_key(name, filename)}-{environment_fingerprint(environment, name)}"
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

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
