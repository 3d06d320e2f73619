"""Partitioned manifests (DESIGN §3, "At corpus scale"): a folder of deterministic `*.jsonl.gz` parts.

A large manifest `data/manifests/<ds>_events.jsonl` may instead be the folder
`data/manifests/<ds>_events/`, holding one gzip part per value of a stable key (E-GMD: the
performance; Cambridge and MUSDB: the session), each written with gzip mtime 0 and in a stable row
order, and `index.json` (schema `parts_index`) listing every part's file, key, sha256, rows, bytes
and health aggregates. The index pins the parts: the lock records the index, so one sha256 pins
the whole folder.

E-GMD stores a performance's events once: the part holds the rows of one render per distinct MIDI
(the representative, named by `item_id`), and `renders/<part>.jsonl.gz` lists every render (kit,
audio file, duration, split, and `events_item`, the representative whose rows it plays). Readers
that want one row per render-hit get them expanded (`drumgate.events.read`).

A re-ingest encodes every part in memory and renames only those whose bytes differ, so a change to
1% of the performances rewrites about 1% of the folder plus its index.

One module per responsibility: `layout` (file names, the folder a single-file name stands for,
limits), `writer` (parts, index and pages, shards), `reader` (index and parts checked, rows through
the one line reader drumgate.io.lines) and `aggregates` (per-part health counts in the index). The
names below are the package's API; callers use `from drumgate.io import parts` and `parts.X`.
"""

from __future__ import annotations

from drumgate.io.parts.aggregates import (
    VELOCITY_BIN_WIDTH,
    VELOCITY_BINS,
    Aggregates,
    aggregate,
    at_part,
    counts_from_index,
    counts_of_aggregates,
    counts_of_entries,
    merged_aggregates,
    pair_key,
    refused_rows,
)
from drumgate.io.parts.layout import (
    INDEX_NAME,
    INDEX_SCHEMA_VERSION,
    MAX_PART_BYTES,
    MIGRATE_FIX,
    PAGE_DIR,
    PAGED_ABOVE,
    PART_SUFFIX,
    RENDERS_DIR,
    REPRO_FIX,
    SHARD_KIND,
    ErrorSink,
    Row,
    fix_for,
    folder_of,
    is_partitioned,
    listed_files,
    lock_path,
    page_of,
    part_files,
    part_stem,
    pick_from_fix,
    resolve,
    single_files_of,
    stored,
)
from drumgate.io.parts.reader import (
    assemble_index,
    expand_render,
    iter_folder,
    part_problem,
    part_rows,
    plays_of,
    problems,
    read_index,
    read_part,
    rendered,
    stored_parts,
    verify,
    weighted_rows,
)
from drumgate.io.parts.writer import (
    CANONICAL_HEADER,
    GZIP_LEVEL,
    PartInput,
    PartsWriter,
    WriteResult,
    adopt_part,
    encode_index,
    finish_folder,
    gzip_rows,
    read_shard_entries,
    write_parts,
)

__all__ = [
    "CANONICAL_HEADER",
    "GZIP_LEVEL",
    "INDEX_NAME",
    "INDEX_SCHEMA_VERSION",
    "MAX_PART_BYTES",
    "MIGRATE_FIX",
    "PAGED_ABOVE",
    "PAGE_DIR",
    "PART_SUFFIX",
    "RENDERS_DIR",
    "REPRO_FIX",
    "SHARD_KIND",
    "VELOCITY_BINS",
    "VELOCITY_BIN_WIDTH",
    "Aggregates",
    "ErrorSink",
    "PartInput",
    "PartsWriter",
    "Row",
    "WriteResult",
    "adopt_part",
    "aggregate",
    "assemble_index",
    "at_part",
    "counts_from_index",
    "counts_of_aggregates",
    "counts_of_entries",
    "encode_index",
    "expand_render",
    "finish_folder",
    "fix_for",
    "folder_of",
    "gzip_rows",
    "is_partitioned",
    "iter_folder",
    "listed_files",
    "lock_path",
    "merged_aggregates",
    "page_of",
    "pair_key",
    "part_files",
    "part_problem",
    "part_rows",
    "part_stem",
    "pick_from_fix",
    "plays_of",
    "problems",
    "read_index",
    "read_part",
    "read_shard_entries",
    "refused_rows",
    "rendered",
    "resolve",
    "single_files_of",
    "stored",
    "stored_parts",
    "verify",
    "weighted_rows",
    "write_parts",
]
