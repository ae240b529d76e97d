"""Human decisions and what they make: the append-only decision log, the labels derived from it,
people with their names, aliases and groups, name search, and the activity log.
"""
