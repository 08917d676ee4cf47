from fastapi.testclient import TestClient

from tests.conftest import Accounts


def test_register_login_info(client: TestClient, accounts: Accounts) -> None:
    headers = accounts.user("alice@example.com")
    body = client.get("/v1/user/info", headers=headers).json()
    assert body["code"] == 0
    assert body["data"]["email"] == "alice@example.com"
    assert "password_hash" not in body["data"]
