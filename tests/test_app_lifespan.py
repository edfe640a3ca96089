"""Start-up: the app loads its heavy objects before the first request and freezes the heap while
it serves (so full garbage collections do not walk ~300k long-lived objects), and unfreezes on
shutdown (a process that starts many apps, like this test run, must not pile up frozen garbage)."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from minxin.intake import features
from minxin.main import create_app


def test_heap_is_frozen_while_serving_and_released_after(state) -> None:
    gc.unfreeze()
    with TestClient(create_app(state=state)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 0
        assert features._jieba_ready, "jieba's dictionary is loaded before the first request"
    assert gc.get_freeze_count() == 0
