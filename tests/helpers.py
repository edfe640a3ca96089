"""Small helpers shared by API tests."""

from __future__ import annotations

from typing import Any

import httpx

from minxin.demo.orders import tiny_png, tiny_wav

APPEAL: dict[str, Any] = {
    "channel": "phone",
    "appeal_type": "repair",
    "title": "辽中区茨榆坨镇停电",
    "content": "来电人反映茨榆坨镇于家村从早上开始停电，至今未恢复，请尽快抢修。",
    "citizen": {"name": "张先生", "phone": "13812345678"},
    "address": "沈阳市辽中区茨榆坨镇于家村",
    "category": "080101",
}


def new_order(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/orders", json=APPEAL | overrides)
    assert response.status_code == 201, response.text
    return response.json()


def act(client: httpx.Client, number: str, action: str, body: dict[str, Any] | None = None, expect: int = 200) -> dict[str, Any]:
    response = client.post(f"/api/v1/orders/{number}/actions/{action}", json=body or {})
    assert response.status_code == expect, f"{action}: {response.status_code} {response.text}"
    return response.json()


def upload(client: httpx.Client, data: bytes, name: str, expect: int = 201) -> dict[str, Any]:
    response = client.post("/api/v1/attachments", files={"file": (name, data, "application/octet-stream")})
    assert response.status_code == expect, response.text
    return response.json()


def photo(client: httpx.Client) -> str:
    return str(upload(client, tiny_png(), "现场.png")["id"])


def recording(client: httpx.Client) -> str:
    return str(upload(client, tiny_wav(), "回访.wav")["id"])


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])
