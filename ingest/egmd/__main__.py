"""`python -m ingest.egmd`: the same command as `drumgate ingest egmd`."""

from ingest.egmd import main

if __name__ == "__main__":
    raise SystemExit(main())
