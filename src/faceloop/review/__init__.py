"""Queues and the rules that turn human decisions into labels."""
