"""The console: server-rendered pages (Jinja2 + vendored htmx), zh-CN and en."""
