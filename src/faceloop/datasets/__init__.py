"""Where `faceloop.export` meets the database: a workspace out as a dataset, a dataset into a
workspace, and forgetting a person.
"""
