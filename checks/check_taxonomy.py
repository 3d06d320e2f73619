"""Hook: every class, technique and label in staged events manifests exists in the taxonomy.

Aliases resolve to their class or technique; techniques must be allowed on the event's class;
crash-family events carry the dual label the crash map gives their `variant`, other events an empty
`labels`. Rows repeat the same few label combinations, so each distinct combination is judged once.

A staged taxonomy or crash map must load: every problem of both files is named at once. It then
judges the whole workspace, since a renamed or removed class breaks every file naming it: the configs
that name classes (stem names, note map, MDB labels, dataset gates) and every committed events
manifest. Each finding names the file that must change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from checks._hookutil import (
    Reporter,
    SeenParts,
    artifact_fix,
    content_digest,
    findings_about,
    generated_empty_manifest,
    workspace_relative,
)
from checks._labels import RowKey, label_keys, row_key
from checks._taxonomy_change import (
    TAXONOMY_FILES,
    ConfigCheck,
    check_class_configs,
    check_committed,
    committed_manifests,
    load_reported,
    undo_command,
)
from drumgate.artifacts import Artifact, classify
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace

TAXONOMY_FIX = "fix: use an id or alias from configs/technique_taxonomy.json, or add it there as an alias"
CRASH_FIX = "fix: add the variant to configs/crash_dual_label.json, then drumgate crash-map"
FileJudge = Callable[[Workspace, Artifact, Any, Reporter], None]


def _crash_problems(taxonomy: Any, class_id: str, labels: tuple[Any, ...], variant: Any) -> list[tuple[str, str]]:
    if not isinstance(variant, str) or not variant:
        return [("crash-family event has no variant", CRASH_FIX)]
    expected = taxonomy.crash_labels(variant)
    if expected is None:
        return [(f"crash variant {variant!r} is not in configs/crash_dual_label.json", CRASH_FIX)]
    wanted = (expected.primary, expected.secondary)
    resolved = tuple(taxonomy.resolve_class(x) if isinstance(x, str) else None for x in labels)
    if resolved != wanted:
        return [(f"crash variant {variant!r} needs labels {list(wanted)}, found {list(labels)}", "")]
    return []


def judge(taxonomy: Any, key: RowKey) -> list[tuple[str, str]]:
    """(message, fix) for each taxonomy problem of one label combination; "" fix means regenerate."""
    label, labels, techniques, variant = key
    if not isinstance(label, str):
        return [("label is not a string", "")]
    class_id = taxonomy.resolve_class(label)
    if class_id is None:
        return [(f"unknown label {label!r}", TAXONOMY_FIX)]
    problems: list[tuple[str, str]] = []
    for technique in techniques:
        tech_id = taxonomy.resolve_technique(technique) if isinstance(technique, str) else None
        if tech_id is None:
            problems.append((f"unknown technique {technique!r}", TAXONOMY_FIX))
        elif not taxonomy.technique_allowed(tech_id, class_id):
            problems.append((f"technique {tech_id!r} does not apply to class {class_id!r}", ""))
    for extra in labels:
        if not isinstance(extra, str) or taxonomy.resolve_class(extra) is None:
            problems.append((f"unknown label {extra!r} in labels", TAXONOMY_FIX))
    if taxonomy.is_crash_family(class_id):
        problems.extend(_crash_problems(taxonomy, class_id, labels, variant))
    elif labels:
        problems.append((f"labels {list(labels)} on a {class_id!r} event: only crash-family events carry them", ""))
    return problems


def check_manifest(ws: Workspace, artifact: Artifact, taxonomy: Any, reporter: Reporter) -> None:
    """A quick pass over every core collects the distinct label combinations; only when one is
    wrong (or a line is unsound) does the line-by-line pass run to name the lines."""
    if artifact.is_jsonl and generated_empty_manifest(ws, artifact.group, artifact.path):
        return
    keys = _label_keys(ws.path(artifact.path))
    if keys is not None and not any(judge(taxonomy, key) for key in keys):
        return
    _check_lines(ws, artifact, taxonomy, reporter)


def taxonomy_context(ws: Workspace) -> str:
    """The digest of what judges labels: a part's verdict holds only for the taxonomy that gave it."""
    return content_digest(b"".join(ws.path(name).read_bytes() if ws.path(name).is_file() else b"-"
                                   for name in TAXONOMY_FILES))


def check_part(ws: Workspace, artifact: Artifact, taxonomy: Any, reporter: Reporter, seen: SeenParts,
               context: str, check: FileJudge | None = None) -> None:
    """An events part, unless its bytes already passed under this taxonomy."""
    digest = content_digest(ws.path(artifact.path).read_bytes())
    if seen.seen(context, digest):
        return
    before = findings_about(reporter, artifact.path)
    (check or check_manifest)(ws, artifact, taxonomy, reporter)
    if findings_about(reporter, artifact.path) == before:
        seen.passed(context, digest)


def _label_keys(path: Path) -> set[RowKey] | frozenset[RowKey] | None:
    """The distinct label combinations when every line is sound JSON, else None.

    Taken from the schema hook's memo of the same content when there is one, else a chunked scan.
    """
    import hashlib

    from drumgate.io import scanmemo
    from drumgate.io.chunkscan import map_chunks, read_stored, usable_data

    stored = read_stored(path)
    if stored is None:
        return None
    facts = scanmemo.load(hashlib.sha256(stored).hexdigest())
    if facts is not None:
        return facts.label_keys if facts.sound else None
    data = usable_data(path, stored)
    if data is None:
        return None
    chunks = map_chunks(data, _distinct_keys)
    if not all(sound for sound, _ in chunks):
        return None
    return set().union(*(keys for _, keys in chunks))


def _distinct_keys(chunk: bytes, first_line: int) -> tuple[bool, set[RowKey]]:
    """(every line sound, the distinct label combinations) of one chunk."""
    from drumgate.io.chunkscan import LineFinding, lean_batches

    findings: list[LineFinding] = []
    keys: set[RowKey] | None = set()
    for _, rows in lean_batches(chunk, first_line, findings):
        keys = label_keys(rows, keys) if keys is not None else None
    if keys is None:
        return False, set()
    return not findings, keys


def _check_lines(ws: Workspace, artifact: Artifact, taxonomy: Any, reporter: Reporter) -> None:
    from drumgate.io.rowscan import scan_jsonl

    relative = artifact.path
    regenerate = artifact_fix(ws, artifact, "regenerate the manifest")
    verdicts: dict[RowKey, list[tuple[str, str]]] = {}

    def report(err: DrumgateError) -> None:
        err.path = relative
        reporter.add(err, regenerate)

    for line_no, row in scan_jsonl(ws.path(relative), report):
        try:
            key = row_key(row)
            problems = verdicts.get(key)
            if problems is None:
                problems = verdicts[key] = judge(taxonomy, key)
        except TypeError:
            problems = [("labels or techniques hold objects, not names", "")]
        for message, fix in problems:
            reporter.finding(relative, message, line=line_no, hint=fix or regenerate)


def check_files(ws: Workspace, filenames: Sequence[str], reporter: Reporter,
                class_configs: Callable[[], Sequence[ConfigCheck]] = tuple) -> int:
    """The staged events manifests against the taxonomy. A staged taxonomy file must load, with every
    problem of both files named at once; it then judges the configs that name classes (`class_configs`,
    the loaders' own rules) and every committed events manifest too."""
    relatives = [workspace_relative(ws, name) for name in filenames]
    manifests = [(rel, classify(rel)) for rel in relatives]
    manifests = [(rel, art) for rel, art in manifests if art is not None and art.schema == "events"]
    staged_taxonomy = [rel for rel in relatives if rel in TAXONOMY_FILES]
    for relative in [*(rel for rel, _ in manifests), *staged_taxonomy]:
        reporter.checking(relative)
    if not reporter.checked:
        return reporter.close()
    undo = undo_command(ws, staged_taxonomy) if staged_taxonomy else None
    taxonomy = load_reported(ws, reporter, staged_taxonomy)
    if taxonomy is None:
        if manifests:
            reporter.note(manifests[0][0], "events manifests are checked once the taxonomy files load")
        return reporter.close()
    if staged_taxonomy:
        check_class_configs(ws, taxonomy, class_configs(), reporter, undo)
    committed = committed_manifests(ws, {rel for rel, _ in manifests}) if staged_taxonomy else []
    parts = any(artifact.is_part for _, artifact in manifests) or any(artifact.is_part for artifact in committed)
    seen = SeenParts(ws, "taxonomy") if parts else None
    context = taxonomy_context(ws) if seen is not None else ""
    for relative, artifact in manifests:
        if not ws.path(relative).is_file():
            reporter.finding(relative, "file not found")
        elif artifact.is_part and seen is not None:
            check_part(ws, artifact, taxonomy, reporter, seen, context)
        else:
            check_manifest(ws, artifact, taxonomy, reporter)
    judged = partial(_judge_committed, undo=undo)
    for artifact in committed:
        if artifact.is_part and seen is not None:
            check_part(ws, artifact, taxonomy, reporter, seen, context, judged)
        else:
            judged(ws, artifact, taxonomy, reporter)
    if seen is not None:
        seen.close()
    return reporter.close()


def _judge_committed(ws: Workspace, artifact: Artifact, taxonomy: Any, reporter: Reporter, undo: str | None) -> None:
    check_committed(ws, artifact, taxonomy, reporter, undo, _label_keys(ws.path(artifact.path)), judge)
