"""Background work: the dramatiq broker, thin actors, and the plain functions they call.

Nothing here imports Flask. The web process imports `workers.actors` only to send messages.
"""
