"""`generate` and `verify`: the two checksum actions, with plain parameters (the command layer is
drumgate.cli.checksums).

`generate` writes or extends `data/archives/checksums/<ds>.sha256` (or, when large, its folder of
parts: drumgate.checksums.parts) and records its lineage; entries
on an offline tier are kept, not checked. `verify` hashes every listed file on a mounted tier,
reading every byte: a file corrupted in place with its size and mtime put back must fail.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drumgate import lineage
from drumgate.checksums import parts
from drumgate.checksums.agreement import reread_group
from drumgate.checksums.manifest import ChecksumEntry, generate_command, generate_fix, malformed_fix
from drumgate.checksums.roots import refuse_empty_tiers, typed_config
from drumgate.checksums.tree import TreeState, hash_files, scan_dataset
from drumgate.config import DatasetConfig, StorageRoot
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError, format_finding, shown_path
from drumgate.io.statcache import StatCache
from drumgate.progress import progress, progress_enabled
from drumgate.render.numbers import counted
from drumgate.workspace import Workspace

if TYPE_CHECKING:
    from tqdm import tqdm


def _progress_printer() -> Callable[[int, int], None] | None:
    """A bar over the files being hashed (drumgate.progress: quiet off-terminal and in CI)."""
    if not progress_enabled():
        return None
    bars: list[tqdm] = []

    def show(done: int, total: int) -> None:
        if not bars:
            bars.append(progress(total, "hashing", "file"))
        bars[0].update(done - bars[0].n)
        if done == total:
            bars[0].close()

    return show



def _offline_note(root: StorageRoot, count: int) -> str:
    return root.offline_note(f"{count} entries kept, not checked", count)


def generate(
    ws: Workspace,
    dataset: str,
    *,
    update: bool,
    jobs: int | None,
    cache: StatCache | None,
    argv: Sequence[str],
    result: dict[str, Any] | None = None,
    root: str | None = None,
) -> int:
    """Write or extend the manifest; `result`, when given, receives the summary (for --json); `root`
    is a typed `--root DIR` standing in for the first tier (drumgate.checksums.roots)."""
    config = typed_config(ws, dataset, root, "generate", update)
    manifest_path = ws.checksums(dataset)
    existing: dict[str, str] = {}
    if parts.exists(manifest_path):
        found = parts.read(manifest_path, dataset)
        for err in found.problems:
            err.path = ws.rel(err.path or manifest_path)
        whole_file = [err for err in found.errors if err.line is None]  # an LFS pointer, unreadable
        if whole_file or (found.problems and not update):
            for err in found.problems:
                print(str(err), file=sys.stderr)
            folder = parts.is_partitioned(manifest_path)
            shown = ws.rel(parts.folder_of(manifest_path) if folder else manifest_path)
            if not found.errors:
                hint = generate_fix(dataset, update=True, root=root)
            elif whole_file and whole_file[0].hint:
                hint = whole_file[0].hint
            else:
                hint = malformed_fix(dataset, shown, root=root, workspace=ws.root)
            raise DrumgateError("existing manifest is malformed", path=manifest_path, hint=hint)
        for err in found.structure:
            print(f"{err} (repaired)", file=sys.stderr)
        for err in found.errors:  # --update: the line goes; its file, if still there, is hashed again
            print(f"{err} (dropped)", file=sys.stderr)
        existing = {entry.path: entry.sha256 for entry in found.entries}
    state = scan_dataset(config)
    refuse_empty_tiers(ws, config, state.files, existing, action="generate", typed=root, update=update,
                       unlisted=state.unlisted)
    if not state.online and not existing:  # an empty manifest would then pass verify as "0/0 verified"
        first = config.roots[0]
        raise DrumgateError(f"no storage tier of {dataset} is there and the manifest keeps no entries: nothing to"
                            " hash; nothing written", path=first.path,
                            hint=f"fix: put the raw files under {ws.rel(first.path)} or {first.point_at_it()}, then"
                                 f" {generate_command(dataset, update=False, root=root)}")
    outcome = hash_files(state.files, cache, jobs, _progress_printer())
    findings = [*state.problems, *outcome.problems]
    merged, added, changed, missing = _merge(existing, outcome.digests, state, update)
    for name in changed:
        findings.append(
            format_finding(
                state.files[name],
                f"changed since the manifest was made ({name})",
                hint=generate_fix(dataset, update=True, root=root) if not update else "accepted",
            )
        )
    online_tiers = {root.tier for root in state.online}
    for name in missing:
        findings.append(
            format_finding(
                name,
                "listed in the manifest but missing on disk",
                hint=generate_fix(dataset, update=True, root=root) if not update else "dropped",
            )
        )
    for unplugged in state.offline:
        print(_offline_note(unplugged, sum(1 for key in existing if key.split("/", 1)[0] == unplugged.tier)))
    rewritten = parts.write(manifest_path, merged, parts.threshold(config.options))
    _record_lineage(ws, config, parts.location(manifest_path), argv, state, merged)
    if manifest_path in rewritten and parts.is_partitioned(manifest_path):
        lineage.forget(ws, config.group, [manifest_path])  # the single file became its folder
    for line in findings:
        print(line, file=sys.stderr)
    shown = ws.rel(parts.location(manifest_path))
    print(
        f"{shown}: {len(merged)} entries ({len(added)} added, {len(changed)} changed, "
        f"{len(missing)} missing; {outcome.cache_hits} from cache, {outcome.hashed} hashed; "
        f"online tiers: {', '.join(sorted(online_tiers)) or 'none'})"
    )
    accepted = update and not state.problems and not outcome.problems
    if result is not None:
        result.update(
            action="generate", dataset=dataset, manifest=shown, entries=len(merged),
            rewritten=sorted(ws.rel(path) for path in rewritten),
            added=len(added), changed=len(changed), missing=len(missing), hashed=outcome.hashed,
            from_cache=outcome.cache_hits, online_tiers=sorted(online_tiers),
            offline_tiers=sorted(root.tier for root in state.offline), findings=findings,
        )
    return EXIT_OK if accepted or not findings else EXIT_FINDINGS


def _merge(
    existing: dict[str, str], digests: dict[str, str], state: TreeState, update: bool
) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    online_tiers = {root.tier for root in state.online}
    merged = dict(existing)
    added = sorted(set(digests) - set(existing))
    changed = sorted(name for name in set(digests) & set(existing) if digests[name] != existing[name])
    missing = sorted(name for name in existing if name.split("/", 1)[0] in online_tiers and name not in state.files
                     and not state.unknown(name))
    for name in added:
        merged[name] = digests[name]
    if update:
        for name in changed:
            merged[name] = digests[name]
        for name in missing:
            del merged[name]
    return merged, added, changed, missing


def _record_lineage(
    ws: Workspace,
    config: DatasetConfig,
    manifest_path: Path,
    argv: Sequence[str],
    state: TreeState,
    merged: dict[str, str],
) -> None:
    fingerprints = {}
    for root in config.roots:
        prefix = f"{root.tier}/"
        lines = "".join(f"{v}  {k}\n" for k, v in sorted(merged.items()) if k.startswith(prefix))
        status = "online" if root in state.online else "offline"
        fingerprints[f"{root.tier}_root"] = f"{status}:{hashlib.sha256(lines.encode()).hexdigest()}"
    lineage.record(
        ws, config.group, manifest_path, argv, inputs=[ws.configs / "datasets.toml"], external_inputs=fingerprints
    )


def verify(ws: Workspace, dataset: str, *, jobs: int | None, result: dict[str, Any] | None = None,
           root: str | None = None) -> int:
    """Hash every listed file on a mounted tier; `result`, when given, receives the summary (for --json);
    `root` is a `--root DIR` standing in for the first tier (drumgate.checksums.roots)."""
    config = typed_config(ws, dataset, root, "verify", False)
    manifest_path = ws.checksums(dataset)
    found = parts.read(manifest_path, dataset)
    entries = found.entries
    for err in found.problems:
        err.path = ws.rel(err.path or manifest_path)
        err.hint = err.hint or malformed_fix(dataset, err.path, root, workspace=ws.root)
    findings = [str(err) for err in found.problems]
    state = scan_dataset(config)
    refuse_empty_tiers(ws, config, state.files, (entry.path for entry in entries), action="verify", typed=root,
                       provenance=False, unlisted=state.unlisted)
    offline_tiers = {root.tier for root in state.offline}
    known_tiers = {root.tier for root in config.roots}
    # a changed or missing file is accepted by its ingest too when its provenance names it
    group = reread_group(ws, dataset)
    accept = f"drumgate repro {group}, then git add -A" if group else generate_command(dataset, update=True, root=root)
    present: dict[str, Path] = {}
    expected: dict[str, ChecksumEntry] = {}
    for entry in entries:
        if entry.tier not in known_tiers:
            findings.append(format_finding(ws.rel(entry.source or manifest_path),
                                           f"unknown storage tier {entry.tier!r}", entry.line))
        elif entry.tier in offline_tiers or state.unknown(entry.path):
            continue  # offline, or in a folder it could not list (worded among the scan's problems)
        elif entry.path in state.files:
            present[entry.path] = state.files[entry.path]
            expected[entry.path] = entry
        else:
            findings.append(
                format_finding(
                    ws.rel(entry.source or manifest_path),
                    f"{entry.path}: missing on disk",
                    entry.line,
                    hint=f"fix: restore it, or {accept}",
                )
            )
    outcome = hash_files(present, None, jobs, _progress_printer())
    findings.extend(state.problems)
    findings.extend(outcome.problems)
    for name, digest in sorted(outcome.digests.items()):
        entry = expected[name]
        if digest != entry.sha256:
            findings.append(
                format_finding(
                    ws.rel(entry.source or manifest_path),
                    f"{name}: sha256 differs (file changed)",
                    entry.line,
                    hint=f"fix: restore it, or accept it with {accept}",
                )
            )
    listed = {entry.path for entry in entries}
    # with lines it could not read, files it does not list are their consequence: the fix of those
    # lines (`generate --update`) lists them again
    for name in sorted(set(state.files) - listed) if not found.problems else ():
        findings.append(
            # a raw file back or new: what its ingest reads changed too, so the group's repro, as for one missing
            format_finding(shown_path(state.files[name]), f"not in the manifest ({name})",
                           hint=f"fix: {accept}" if group else generate_fix(dataset, root=root))
        )
    for unplugged in state.offline:
        print(_offline_note(unplugged, sum(1 for entry in entries if entry.tier == unplugged.tier)))
    for line in findings:
        print(line, file=sys.stderr)
    ok = len(outcome.digests) - sum(1 for n, d in outcome.digests.items() if d != expected[n].sha256)
    shown = ws.rel(parts.location(manifest_path))
    print(
        f"{shown}: {ok}/{len(entries)} entries verified "
        f"({outcome.cache_hits} from cache, {outcome.hashed} hashed), {counted(len(findings), 'finding')}"
    )
    if result is not None:
        result.update(
            action="verify", dataset=dataset, manifest=shown, entries=len(entries), verified=ok,
            hashed=outcome.hashed, offline_tiers=sorted(offline_tiers), findings=findings,
        )
    return EXIT_FINDINGS if findings else EXIT_OK
