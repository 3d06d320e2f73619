"""Workspace-level commands that are not one dataset's or one hook's: demo, init, init-hooks, repro, migrate."""
