"""What the API tests expect of a response."""

from __future__ import annotations


def ok(response, status: int = 200) -> dict | list:
    """The response's JSON, after checking its status (the body is shown when it is not)."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    return response.json()
