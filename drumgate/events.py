"""The one reader of manifests: a single `.jsonl[.gz]` file or a partitioned folder, the same rows.

    from drumgate import events
    for row in events.read("data/manifests/egmd_events"):      # one row per render-hit
        ...
    for row in events.read("data/manifests/egmd_events", per_render=False):  # E-GMD hits once
        ...

`read` takes the single-file name too (`data/manifests/egmd_events.jsonl`): when only the folder
exists it reads the folder, so callers never choose. This is `jsonio.iter_jsonl`, the readers'
one entry (which picks the file or the folder), over the one line reader `drumgate.io.lines`. Bad
rows are errors naming the file (or the part) and its line; a folder that disagrees with its index
(a part missing, unlisted, edited, over the size limit, a key claimed twice, an old single file
beside it) is refused before a row is read. The combined manifest is a reference to its sources'
rows (`data/manifests/prod_combined_events.json`, drumgate.io.combined_reference): `read` on it, or
on its `.jsonl` name, yields the combined rows, its sources checked against it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from drumgate.io import combined_reference, parts
from drumgate.io.jsonio import ErrorSink, iter_jsonl


def iter_rows(
    path: str | Path, on_error: ErrorSink | None = None, per_render: bool = True
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, row) from a file or a partitioned folder."""
    yield from iter_jsonl(path, on_error, per_render)


def read(path: str | Path, per_render: bool = True) -> Iterator[dict[str, Any]]:
    """The rows a training loader wants: one per render-hit unless `per_render` is False."""
    for _, row in iter_rows(path, per_render=per_render):
        yield row


def count_rows(path: str | Path) -> int:
    """Rows a reader would yield; from the index alone for a folder, from the reference for the combined manifest."""
    reference = combined_reference.reference_path(path)
    if reference is not None:
        return combined_reference.count_rows(reference)
    source = parts.resolve(path)
    if source.is_dir():
        return int(parts.read_index(source)["totals"]["events"])
    return sum(1 for _ in iter_jsonl(source))
