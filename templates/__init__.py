"""Jinja2 templates of the emails, documents and portal pages (package data, no code)."""
