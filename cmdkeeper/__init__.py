"""cmdkeeper: keeps NB-IoT device commands honest (process helpers, config, CLI)."""
