"""`python -m ingest.musdb`: the same command as `drumgate ingest musdb`."""

from drumgate.cli import run_module
from drumgate.cli.ingest import command

if __name__ == "__main__":
    raise SystemExit(run_module(command("musdb"), None, prog="python -m ingest.musdb"))
