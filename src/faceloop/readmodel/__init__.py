"""Everything derived from the database that the pages read in memory: faces with their labels,
people, the look-alike groups, the nearest labelled faces, the projected embeddings.
"""
