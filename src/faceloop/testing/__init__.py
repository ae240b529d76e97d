"""Synthetic data for tests and benchmarks: embeddings shaped like dlib's, and whole workspaces
at full scale. Never used by faceloop itself.
"""
