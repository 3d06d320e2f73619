"""Reading and writing artifacts: JSON/JSONL with line numbers, partitioned parts, atomic writes, hashing."""
