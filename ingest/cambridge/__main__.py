"""`python -m ingest.cambridge`: the same command as `drumgate ingest cambridge`."""

from ingest.cambridge import main

if __name__ == "__main__":
    raise SystemExit(main())
