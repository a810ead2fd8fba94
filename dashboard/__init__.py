"""The operator's dashboard served by `web` at `/` (server-rendered pages)."""
