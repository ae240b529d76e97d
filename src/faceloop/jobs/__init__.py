"""Background work with live progress: the queue that runs jobs of any kind, and the rules that
start a kind at most once at a time.
"""
