"""The write side of observability: what each request leaves behind, and the writer that stores it.

Imports run one way, pure parts below and the database on top:

- `tracing`: spans of the current request (contextvars; no Django);
- `drafts`: `RecordDraft` / `AttemptDraft`, what a request leaves behind (no database);
- `rollups`, `metrics`: hourly statistics, error groups and Prometheus counters computed from drafts;
- `writer`: the group-commit history writer that stores drafts, spans, rollups and error groups.

The read side (percentiles, windows, error groups for pages and the API) is `routerapp.stats`.
"""
