"""The pull-request side: pr-report's health deltas, the comment Markdown, the sticky comment API."""
