"""API keys in the store: made once, kept only as a digest, verified in constant time, revoked."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from store import session_scope
from store.keys import create_key, digest, list_keys, revoke_key, verify_key
from store.tables import ApiKeyRow


def test_a_key_is_stored_only_as_its_digest(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        created = create_key(session, scope="write", name="psa bot", company="Acme Dental")
    assert created.secret.startswith(f"fxk_{created.key.prefix}_")
    with session_scope(engine) as session:
        [row] = session.exec(select(ApiKeyRow)).all()
        stored = " ".join(str(value) for value in row.model_dump().values())
    assert created.secret.split("_", 2)[2] not in stored
    assert row.digest == digest(created.secret)
    assert (row.scope, row.company, row.name) == ("write", "Acme Dental", "psa bot")


def test_verify_accepts_the_key_and_nothing_like_it(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        created = create_key(session, scope="read")
    secret = created.secret
    wrong_last = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with session_scope(engine) as session:
        key = verify_key(session, token=secret)
        assert key is not None and key.id == created.key.id and key.scope == "read"
        for bad in (wrong_last, "", "fxk_", secret + "x", secret.replace("fxk_", "abc_"),
                    f"fxk_{'0' * 12}_{'a' * 43}", "Bearer " + secret):
            assert verify_key(session, token=bad) is None, bad


def test_verify_records_last_use(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        created = create_key(session, scope="read")
    assert created.key.last_used_at is None
    with session_scope(engine) as session:
        verify_key(session, token=created.secret)
    with session_scope(engine) as session:
        [key] = list_keys(session)
    assert key.last_used_at is not None


def test_revoked_keys_stop_working_and_leave_the_default_listing(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        keep = create_key(session, scope="read")
        drop = create_key(session, scope="admin")
    with session_scope(engine) as session:
        revoked = revoke_key(session, prefix=f"fxk_{drop.key.prefix}")
        assert revoked is not None and revoked.revoked_at is not None
        again = revoke_key(session, prefix=drop.key.prefix)
        assert again is not None and again.revoked_at == revoked.revoked_at
        assert revoke_key(session, prefix="nothing") is None
        assert revoke_key(session, prefix="0" * 12) is None
    with session_scope(engine) as session:
        assert verify_key(session, token=drop.secret) is None
        assert verify_key(session, token=keep.secret) is not None
        assert [key.prefix for key in list_keys(session)] == [keep.key.prefix]
        assert len(list_keys(session, include_revoked=True)) == 2


def test_scopes_are_ordered(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        made = {scope: create_key(session, scope=scope).key for scope in ("read", "write", "admin")}
    assert made["read"].allows("read") and not made["read"].allows("write")
    assert made["write"].allows("read") and made["write"].allows("write")
    assert not made["write"].allows("admin")
    assert made["admin"].allows("admin")


@pytest.mark.parametrize(("scope", "company"), [("owner", None), ("", None), ("read", "  ")])
def test_create_refuses_bad_input(engine: sa.Engine, scope: str, company: str | None) -> None:
    with session_scope(engine) as session, pytest.raises(ValueError):
        create_key(session, scope=scope, company=company)
