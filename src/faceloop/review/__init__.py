"""Queues and the pages' logic: which face to ask about next and what to suggest (label queue,
model guesses, look-alikes, small groups, passers-by), people and photos as the pages show them,
the home page's counts.
"""
