"""`python -m drumgate.checksums`: the `drumgate checksums` command."""

from __future__ import annotations

from drumgate.cli import checksums

if __name__ == "__main__":
    raise SystemExit(checksums.main())
