"""`python -m ingest.musdb`: the same command as `drumgate ingest musdb`."""

from ingest.musdb import main

if __name__ == "__main__":
    raise SystemExit(main())
