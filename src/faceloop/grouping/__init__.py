"""Look-alike groups in the workspace: the run that clusters the unlabelled faces
(`faceloop.cluster` meets the database), what the groups pages read, what people do to groups,
and the job that re-groups.
"""
