"""`python -m ingest.cambridge`: the same command as `drumgate ingest cambridge`."""

from drumgate.cli import run_module
from drumgate.cli.ingest import command

if __name__ == "__main__":
    raise SystemExit(run_module(command("cambridge"), None, prog="python -m ingest.cambridge"))
