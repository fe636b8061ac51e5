"""Camera settings: masks, alerts, the night window, and passwords never shown."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regard.domain.cameras import (
    Camera,
    Mask,
    NightWindow,
    alert_wanted,
    check_name,
    parse_alerts,
    parse_mask,
    redact_text,
    redact_url,
)
from regard.errors import InvalidRequestError


def test_a_rectangle_mask_is_its_four_corners():
    assert parse_mask("0,0,320,120") == Mask(((0, 0), (320, 0), (320, 120), (0, 120)))


def test_a_polygon_mask_keeps_its_points():
    assert parse_mask("10,10, 200,15, 150,90").points == ((10, 10), (200, 15), (150, 90))


@pytest.mark.parametrize("text", ["", "1,2,3", "320,0,0,120", "a,b,c,d", "1,2,3,4,5", "-1,0,5,5"])
def test_a_bad_mask_says_how_to_write_one(text):
    with pytest.raises(InvalidRequestError, match="LEFT,TOP,RIGHT,BOTTOM"):
        parse_mask(text)


def test_alerts_are_checked_and_named():
    assert parse_alerts("person, pet,unknown-face") == ("person", "pet", "unknown-face")
    with pytest.raises(InvalidRequestError) as err:
        parse_alerts("person,horse")
    assert str(err.value) == (
        "--alerts: 'horse' is not an alert. Alerts are: person, pet, car, unknown-face, known-face."
    )


def test_camera_names_are_simple():
    assert check_name("back-garden_2") == "back-garden_2"
    with pytest.raises(InvalidRequestError):
        check_name("../etc")


def test_passwords_in_urls_are_never_shown():
    url = "rtsp://admin:s3cret@192.168.1.20:554/stream2"
    assert redact_url(url) == "rtsp://***@192.168.1.20:554/stream2"
    camera = Camera("door", url)
    assert "s3cret" not in camera.shown_source
    assert "s3cret" not in str(camera.as_dict())
    assert "source" not in camera.as_dict()
    assert "s3cret" not in repr(camera)
    message = f"Connection to {url} refused (user admin:s3cret)"
    assert "s3cret" not in redact_text(message, url)
    assert redact_url("/dev/video0") == "/dev/video0"
    assert redact_url("rtsp://10.0.0.1/live") == "rtsp://10.0.0.1/live"


@given(st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=12))
def test_no_password_survives_redaction(secret):
    url = f"rtsp://user:{secret}X@cam.local/live"
    assert f"{secret}X" not in redact_url(url)


def test_the_night_window_crosses_midnight():
    night = NightWindow()
    assert night.contains(time(23, 30)) and night.contains(time(2, 0))
    assert not night.contains(time(12, 0)) and not night.contains(time(6, 0))
    assert NightWindow.parse("01:00-05:30").contains(time(3, 0))
    with pytest.raises(InvalidRequestError, match="HH:MM-HH:MM"):
        NightWindow.parse("late")


def test_night_only_alerts_wait_for_the_night():
    door = Camera(
        "door", "rtsp://x/y", alerts=("person", "pet", "unknown-face"), night_only=("person",)
    )
    assert not alert_wanted(door, "person", None, at_night=False)
    assert alert_wanted(door, "person", None, at_night=True)
    assert alert_wanted(door, "pet", None, at_night=False)
    assert not alert_wanted(door, "car", None, at_night=True)


def test_face_alerts_on_a_camera_that_does_not_alert_on_people():
    door = Camera("door", "rtsp://x/y", alerts=("unknown-face",))
    assert door.watches("person")
    assert not alert_wanted(door, "person", None, at_night=True)
    assert not alert_wanted(door, "person", "Lin", at_night=True)
    assert alert_wanted(door, "person", "unknown", at_night=True)
