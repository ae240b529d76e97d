"""The JSON API under /api/v1: one module per area, each a thin layer over `faceloop.review`."""
