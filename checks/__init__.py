"""The pre-commit hooks: one module per check, a typed `check_*` function that reports findings through a
`_hookutil.Reporter` and returns the exit code; their command layer is `drumgate/cli/hooks/`."""
