"""Judging artifacts: health reports and gates, sampling weights, report diffs, song overlap."""
