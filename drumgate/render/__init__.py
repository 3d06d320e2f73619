"""Output people read: Markdown and HTML through Jinja2 templates, with the one escaper."""
