"""The managers' "Data protection" page (export and erasure, GDPR Art. 15 and 17), the privacy
notice and imprint linked from every page, and the application form's consent."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from html import unescape

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from activities.records import RecordActivities
from grantflow.dev.stack import development
from models.orm import AuditEntry
from models.records import StatusRecord
from portal.app import create_app
from portal.manager_text import TEXT
from tests.activities.test_data_rights import everything_stored, granted
from tests.portal.test_portal_manager import MANAGER, PASSWORD, sign_in, token
from tests.portal.test_portal_public import (
    english,
    form_data,
    no_temporal,
    open_programme,
    register,
)

STRANGER = "andere-leitung@example.org"
"""A manager whom the example programme's organiser.managers do not name."""


async def unreachable():
    """Temporal out of reach: the managers' pages fall back to the database."""
    raise RuntimeError("Temporal is not running in this test")


def with_managers(settings):
    hashed = PasswordHasher().hash(PASSWORD)
    return settings.model_copy(update={"portal_managers": {MANAGER: hashed, STRANGER: hashed}})


async def withdrawn(sessions, programme_id: str, reference: str) -> None:
    await RecordActivities(sessions).record_status(
        StatusRecord(
            programme_id=programme_id,
            reference=reference,
            status="withdrawn",
            at=datetime.now(UTC) - timedelta(days=1),
            actor="applicant",
        )
    )


async def test_data_protection_page_export_and_erase_only_for_the_programmes_managers(
    settings, sessions
):
    programme_id, grant = await granted(sessions, settings)
    other = grant.replace("-0001", "-0002")
    await withdrawn(sessions, programme_id, other)
    page = f"/manage/programmes/{programme_id}/data-protection"
    settings = with_managers(settings)
    with TestClient(create_app(settings, client_factory=unreachable)) as client:
        # Not signed in: to the sign-in; another programme's manager: as if it did not exist.
        assert client.get(page, follow_redirects=False).status_code == 303
        anonymous = client.post(f"{page}/export", data={"q": grant}, follow_redirects=False)
        assert anonymous.status_code == 303
        assert sign_in(client, email=STRANGER).status_code == 303
        assert client.get(f"{page}?q={grant}").status_code == 404
        csrf = token(client.get("/manage").text)
        for action in ("export", "erase"):
            refused = client.post(
                f"{page}/{action}", data={"q": other, "confirm": "yes", "csrf_token": csrf}
            )
            assert refused.status_code == 404, action
        client.post("/manage/logout", data={"csrf_token": csrf})

        assert sign_in(client).status_code == 303
        found = client.get(f"{page}?q={grant}")
        assert found.status_code == 200
        html = unescape(found.text)
        assert grant in html and "10 Jahre" in html and 'id="erase"' not in html
        programme_page = client.get(f"/manage/programmes/{programme_id}").text
        assert f'href="{page}"' in programme_page
        csrf = token(found.text)

        # Without the form token nothing is exported or erased.
        assert client.post(f"{page}/export", data={"q": grant}).status_code == 403
        assert client.post(f"{page}/erase", data={"q": other, "confirm": "yes"}).status_code == 403

        exported = client.post(f"{page}/export", data={"q": grant, "csrf_token": csrf})
        assert exported.status_code == 200
        assert exported.headers["content-type"] == "application/zip"
        assert grant in exported.headers["content-disposition"]
        with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
            index = json.loads(archive.read("index.json"))
            text = b"".join(archive.read(n) for n in archive.namelist()).decode()
        assert index["references"] == [grant]
        assert "Engagementbeauftragte 3" in text and "Engagementbeauftragte 4" not in text

        # A grant's records are kept: the erasure is refused with the duty and its end.
        kept = client.post(f"{page}/erase", data={"q": grant, "confirm": "yes", "csrf_token": csrf})
        assert kept.status_code == 409
        assert f"bis 31.12.{datetime.now(UTC).year + 10}." in unescape(kept.text)

        # The withdrawn application may go, once the erasure is confirmed.
        unconfirmed = client.post(f"{page}/erase", data={"q": other, "csrf_token": csrf})
        assert unconfirmed.status_code == 422
        assert TEXT["de"]["confirm_erase_missing"] in unescape(unconfirmed.text)
        assert "Engagementbeauftragte 4" in await everything_stored(sessions)
        erased = client.post(
            f"{page}/erase",
            data={"q": other, "confirm": "yes", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert erased.status_code == 303 and erased.headers["location"].endswith("done=erased")

    stored = await everything_stored(sessions)
    assert "Engagementbeauftragte 4" not in stored and "engagement4@kommune4.example" not in stored
    assert "Engagementbeauftragte 3" in stored
    async with sessions() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.programme_id == programme_id,
                    AuditEntry.action.in_(["data_exported", "data_erased"]),
                )
            )
        )
    assert [(a.action, a.subject, a.actor) for a in actions] == [
        ("data_exported", grant, MANAGER),
        ("data_erased", other, MANAGER),
    ]


# --- notices and consent ----------------------------------------------------------------------


def with_notices(settings, tmp_path):
    privacy = tmp_path / "datenschutz.md"
    privacy.write_text(
        "# Datenschutzhinweise der Beispielstiftung\n\nVerantwortlich: Beispielstiftung.\n\n"
        "<script>alert(1)</script>\n",
        encoding="utf-8",
    )
    imprint = tmp_path / "impressum.txt"
    imprint.write_text("Beispielstiftung\nAllee 1 <b>fett</b>\n", encoding="utf-8")
    return settings.model_copy(update={"privacy_notice_file": privacy, "imprint_file": imprint})


async def test_privacy_notice_and_imprint_are_linked_from_every_page(settings, sessions, tmp_path):
    programme = open_programme()
    await register(sessions, programme)
    settings = with_notices(with_managers(settings), tmp_path)
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        for path in (
            "/",
            f"/programmes/{programme.id}",
            f"/programmes/{programme.id}/apply",
            "/programmes/unknown",
            "/manage/login",
            "/privacy",
            "/imprint",
        ):
            page = client.get(path)
            assert '<a href="/privacy" id="footer-privacy">' in page.text, path
            assert '<a href="/imprint" id="footer-imprint">' in page.text, path
        form = client.get(f"/programmes/{programme.id}/apply").text
        assert 'id="form-privacy-link"' in form
        assert 'name="privacy_consent"' in form and "required" in form

        privacy = client.get("/privacy")
        assert privacy.status_code == 200
        assert "<h1>Datenschutzhinweise der Beispielstiftung</h1>" in privacy.text
        assert "<script>" not in privacy.text and "&lt;script&gt;" in privacy.text
        imprint = client.get("/imprint")
        assert "Beispielstiftung<br>Allee 1 &lt;b&gt;fett&lt;/b&gt;" in imprint.text
        assert 'href="/privacy?lang=en"' in client.get("/imprint?lang=en").text

    unset = settings.model_copy(update={"privacy_notice_file": None})
    with TestClient(create_app(unset, client_factory=no_temporal())) as client:
        missing = client.get("/privacy?lang=en")
        assert missing.status_code == 404 and "not published" in missing.text


def test_the_dev_stack_ships_samples_that_say_they_are_samples(settings):
    dev, _ = development(settings)
    privacy = dev.privacy_notice_file.read_text(encoding="utf-8")
    imprint = dev.imprint_file.read_text(encoding="utf-8")
    for text in (privacy, imprint):
        assert "MUSTER" in text and "SAMPLE" in text and "not a valid" in text
    own = settings.model_copy(update={"privacy_notice_file": settings.data_dir / "own.md"})
    assert development(own)[0].privacy_notice_file == settings.data_dir / "own.md"


async def test_an_application_without_consent_is_refused_naming_the_field(settings, sessions):
    programme = english(open_programme())
    await register(sessions, programme)
    posted = form_data()
    del posted["privacy_consent"]
    with TestClient(create_app(settings, client_factory=no_temporal())) as client:
        response = client.post(f"/programmes/{programme.id}/apply", data=posted)
    assert response.status_code == 422
    html = unescape(response.text)
    assert '<a href="#f-privacy-consent">Privacy notice</a>' in html
    assert "Please confirm that you have read the privacy notice." in html
    assert 'aria-invalid="true"' in response.text.split('id="f-privacy-consent"')[1][:400]
