"""Outbound webhooks to the application: the subscriber URL guard, signing, the HTTP sender.

Beside `platforms/` in the layers (it talks HTTP, but to subscribers, not to a platform); the
delivery runs themselves are in workers/notify.py.
"""
