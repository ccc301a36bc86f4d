"""The portal application starts, serves its stylesheet and reaches the database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.app import create_app


def test_portal_serves_its_stylesheet(settings):
    with TestClient(create_app(settings)) as client:
        response = client.get("/static/portal.css")
    assert response.status_code == 200
    assert "grantflow portal" in response.text


def test_mailbox_only_in_development_mode(settings):
    app = create_app(settings.model_copy(update={"portal_mailbox": False}))
    assert not any(getattr(r, "path", "").startswith("/mailbox") for r in app.routes)
