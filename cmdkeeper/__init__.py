"""cmdkeeper's kernel: configuration, the clock, logs, request ids and in-memory metrics.

Every layer imports these; they import nothing of cmdkeeper's above them (docs/architecture.md,
"Layers"). `python -m cmdkeeper` runs the operator CLI (cli/).
"""
