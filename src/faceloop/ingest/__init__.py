"""Photos into the workspace: find the files, decode and analyse each in worker processes, store
each photo once with its faces; and the photos dropped on the upload page.
"""
