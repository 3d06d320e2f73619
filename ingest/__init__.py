"""Dataset ingestors: one package per dataset (cambridge, musdb, egmd, mdb_drums), plus merge, crash map, combine.

Domain code only: the commands that run them (flags, printing, `--json`) live in the CLI package.
"""
