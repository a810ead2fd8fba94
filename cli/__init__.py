"""The operator CLI, `python -m cmdkeeper <command>`: one module per command (or group).

It reads the same environment as the processes and works on Redis and the platforms directly,
through the same store/, platforms/ and workers/ functions (never through the web's HTTP API).
`main.py` assembles the commands; `session.py` builds what they share; `errors.py` turns
failures into one-line messages and exit codes.
"""
