"""The database source of trace destinations."""

from __future__ import annotations

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import update

from ragprism.models import TenantLangfuse
from ragprism.runtime import Runtime
from ragprism.services.observability.trace_destinations import DatabaseDestinations
from tests.api.test_langfuse_config import fresh_keys, save
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse


def test_a_row_whose_secret_cannot_be_decrypted_is_listed_disabled(
    client: TestClient, accounts: Accounts, state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    """Listed, so that the engine does not take it for a deleted configuration and
    discard its spooled batches; disabled, because nothing can be sent without the key."""
    tenants = []
    for email in ("a@example.com", "b@example.com"):
        headers = accounts.user(email)
        tenants.append(save(client, headers, fresh_keys(fake_langfuse))["data"]["tenant_id"])
    broken, fine = tenants
    foreign = Fernet(Fernet.generate_key()).encrypt(b"sk-lf-other").decode()
    with state.db.session() as session:
        session.execute(
            update(TenantLangfuse)
            .where(TenantLangfuse.tenant_id == broken)
            .values(secret_key_enc=foreign)
        )
        session.commit()
    loaded = DatabaseDestinations(state.db, state.keyring).load()
    assert set(loaded) == {broken, fine}
    assert loaded[broken].enabled is False
    assert loaded[broken].secret_key == ""
    assert loaded[fine].enabled is True
