"""Dataset ingestors: one module per dataset (cambridge, musdb, egmd), plus merge, crash map, combine."""
