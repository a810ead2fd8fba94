"""Webhook receivers, one blueprint per platform: verify, parse, dedupe/enqueue, answer.

They never call a platform and never wait for a worker.
"""
