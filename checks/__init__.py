"""pre-commit hooks and CI checks: one module per check, each with `main(argv) -> int`."""
