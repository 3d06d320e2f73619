"""`python -m ingest.egmd`: the same command as `drumgate ingest egmd`."""

from drumgate.cli import run_module
from drumgate.cli.ingest import command

if __name__ == "__main__":
    raise SystemExit(run_module(command("egmd"), None, prog="python -m ingest.egmd"))
