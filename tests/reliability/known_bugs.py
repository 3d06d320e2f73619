"""Bugs this suite found that their owners have not fixed yet: each test stays, marked
`xfail(strict=True)` with the exact cause, so a fix turns it into a failure to remove here."""

from __future__ import annotations

BAD = "tests/reliability/test_bad_inputs.py::test_bad_input_gets_one_line"

KNOWN_BUGS: dict[str, str] = {
    f"{BAD}[csv-bpm-not-a-number]": "ingest/egmd.py: a non-numeric bpm in the E-GMD CSV is accepted silently",
    f"{BAD}[csv-duration-not-a-number]": (
        "ingest/egmd.py: a non-numeric duration in the E-GMD CSV is accepted silently"
    ),
    f"{BAD}[wav-egmd-text-file]": (
        "ingest/egmd.py: an unreadable render WAV is a 'warning:' line with exit 0 (Cambridge exits 1)"
    ),
    f"{BAD}[wav-cambridge-empty]": (
        "ingest/cambridge.py: a 0-byte stem is 'missing_audio' with a stdout warning and exit 0"
    ),
    "tests/reliability/test_security.py::test_egmd_paths_leaving_the_root_are_refused[symlink]": (
        "ingest/egmd.py: a render MIDI symlinked out of the dataset root is read (.. and absolute are refused)"
    ),
}
