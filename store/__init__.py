"""Redis state: key names, the command state machine (Lua), indexes and the connection."""
