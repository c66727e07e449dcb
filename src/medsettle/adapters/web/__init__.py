"""The operator console: server-rendered Jinja2 pages with htmx, served by each node."""
