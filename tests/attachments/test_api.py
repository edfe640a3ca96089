"""Attachments: recognised by content, size-limited, content-addressed, readable only by those
who may see an order they belong to."""

from __future__ import annotations

import hashlib

from minxin.demo.orders import tiny_png, tiny_wav
from tests.helpers import act, error_code, new_order, upload

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF" + (30).to_bytes(4, "little") + b"WEBPVP8 " + b"\x00" * 22
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 400
AMR = b"#!AMR\n" + b"\x00" * 64
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 64


class TestUpload:
    def test_accepted_types_by_content(self, as_user) -> None:
        client = as_user("lz_handler")
        cases = {
            "a.png": (tiny_png(), "image/png", "image"),
            "b.jpg": (JPEG, "image/jpeg", "image"),
            "c.webp": (WEBP, "image/webp", "image"),
            "d.wav": (tiny_wav(), "audio/x-wav", "audio"),
            "e.mp3": (MP3, "audio/mpeg", "audio"),
            "f.amr": (AMR, "audio/amr", "audio"),
            "g.m4a": (M4A, "audio/mp4", "audio"),
        }
        for name, (data, content_type, kind) in cases.items():
            body = upload(client, data, name)
            assert body["content_type"] == content_type and body["kind"] == kind, name
            assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["size"] == len(data)

    def test_the_name_does_not_decide_the_type(self, as_user) -> None:
        client = as_user("lz_handler")
        response = client.post("/api/v1/attachments", files={"file": ("photo.jpg", b"<?php echo 'hi'; ?>", "image/jpeg")})
        assert response.status_code == 422 and error_code(response) == "attachment.unsupported_type"
        body = upload(client, tiny_png(), "looks-like.exe")
        assert body["content_type"] == "image/png"

    def test_empty_and_too_large(self, as_user, state) -> None:
        client = as_user("lz_handler")
        response = client.post("/api/v1/attachments", files={"file": ("x.png", b"", "image/png")})
        assert response.status_code == 422 and error_code(response) == "attachment.empty"
        state.settings.max_upload_bytes = 1024
        response = client.post("/api/v1/attachments", files={"file": ("big.png", tiny_png() + b"\x00" * 2048, "image/png")})
        assert response.status_code == 413 and error_code(response) == "attachment.too_large"
        leftovers = [p for p in state.settings.attachments_dir.rglob("*") if p.is_file() and p.name.startswith(".upload-")]
        assert leftovers == []

    def test_same_bytes_stored_once(self, as_user, state) -> None:
        client = as_user("lz_handler")
        a, b = upload(client, tiny_png(), "1.png"), upload(client, tiny_png(), "2.png")
        assert a["id"] != b["id"] and a["sha256"] == b["sha256"]
        blobs = [p for p in state.settings.attachments_dir.rglob("*") if p.is_file()]
        assert len(blobs) == 1


class TestDownload:
    def test_only_people_who_see_the_order(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        handler = as_user("lz_handler")
        act(handler, number, "sign")
        photo_id = upload(handler, tiny_png(), "现场.png")["id"]
        act(handler, number, "reply", {"result": "ok", "attachments": [photo_id]})
        response = as_user("supervisor").get(f"/api/v1/attachments/{photo_id}")
        assert response.status_code == 200 and response.content == tiny_png()
        assert response.headers["content-type"] == "image/png"
        assert as_user("gd_leader").get(f"/api/v1/attachments/{photo_id}").status_code == 200
        assert as_user("xm_handler").get(f"/api/v1/attachments/{photo_id}").status_code == 404
        assert as_user("xm_handler").get("/api/v1/attachments/doesnotexist").status_code == 404

    def test_reply_with_unknown_attachment_is_refused(self, as_user) -> None:
        number = new_order(as_user("agent"), category="050101", appeal_type="help")["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "RSJ"})
        act(as_user("rsj_handler"), number, "sign")
        response = as_user("rsj_handler").post(
            f"/api/v1/orders/{number}/actions/reply", json={"result": "ok", "attachments": ["nope"]}
        )
        assert response.status_code == 422 and error_code(response) == "attachment.not_found"

    def test_callback_recording_must_be_audio(self, as_user) -> None:
        number = new_order(as_user("agent"), category="050101", appeal_type="help")["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "RSJ"})
        act(as_user("rsj_handler"), number, "sign")
        act(as_user("rsj_handler"), number, "reply", {"result": "ok"})
        supervisor = as_user("supervisor")
        picture = upload(supervisor, tiny_png(), "x.png")["id"]
        response = supervisor.post(
            f"/api/v1/orders/{number}/actions/callback", json={"satisfaction": "satisfied", "resolved": True, "recording": picture}
        )
        assert response.status_code == 422
