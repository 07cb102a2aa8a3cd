"""The upload limit is enforced as the body streams in, never after it was read whole."""

from __future__ import annotations

import pytest

from apps.common.uploads import LimitedUploadHandler, UploadTooLarge


@pytest.fixture
def handler(settings):
    settings.UPLOAD_MAX_BYTES = 1_000
    return LimitedUploadHandler()


def test_refuses_from_the_content_length_before_reading_anything(handler):
    with pytest.raises(UploadTooLarge) as caught:
        handler.handle_raw_input(None, {}, 1_000 + 65_536 + 1, b"boundary")

    assert caught.value.status_code == 413
    assert "limit of 1000 bytes" in str(caught.value.detail)


def test_allows_a_content_length_within_the_form_slack(handler):
    assert handler.handle_raw_input(None, {}, 1_000 + 65_536, b"boundary") is None


def test_refuses_at_the_first_chunk_past_the_limit(handler):
    assert handler.receive_data_chunk(b"x" * 600, 0) == b"x" * 600

    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 401, 600)
