"""`python -m ingest.mdb_drums`: the same command as `drumgate ingest mdb_drums`."""

from drumgate.cli import run_module
from drumgate.cli.ingest import command

if __name__ == "__main__":
    raise SystemExit(run_module(command("mdb_drums"), None, prog="python -m ingest.mdb_drums"))
