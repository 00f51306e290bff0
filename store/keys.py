"""API keys: create, verify, list and revoke. Only a SHA-256 digest of each key is stored.

A key reads ``fxk_<prefix>_<secret>``. The prefix is public (it finds the row and names the key
in listings and logs); the whole key is hashed and compared in constant time. The secret is
returned once, by `create_key`, and cannot be recovered afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from store.tables import API_SCOPES, ApiKeyRow, nul_free, utcnow

KEY_TAG = "fxk"
_KEY = re.compile(r"fxk_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{20,100})")
_PREFIX = re.compile(r"(?:fxk_)?(?P<prefix>[0-9a-f]{12})")
TOUCH_INTERVAL = timedelta(minutes=1)
"""`last_used_at` is written at most this often per key, so reads do not turn into writes."""
_RANK = {scope: rank for rank, scope in enumerate(API_SCOPES)}


@dataclass(frozen=True)
class ApiKey:
    """A stored key as callers see it: never the secret, never the digest."""

    id: int
    prefix: str
    name: str
    scope: str
    company: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, scope: str) -> bool:
        """Scopes are ordered (read < write < admin): a key may do what its scope and lower do."""
        return _RANK[self.scope] >= _RANK[scope]

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


@dataclass(frozen=True)
class CreatedKey:
    """A new key and its full secret, to be shown once."""

    key: ApiKey
    secret: str


def digest(token: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(
    session: Session, *, scope: str, name: str = "", company: str | None = None
) -> CreatedKey:
    """Make a key with `scope` (read, write or admin), limited to `company` when given."""
    if scope not in _RANK:
        raise ValueError(f"unknown scope {scope!r}; choose from {', '.join(API_SCOPES)}")
    company = nul_free(company.strip()) if company is not None else None
    if company == "":
        raise ValueError("company must not be blank; leave it out for a key that sees all")
    prefix = secrets.token_hex(6)
    token = f"{KEY_TAG}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(prefix=prefix, digest=digest(token), name=nul_free(name.strip()) or "",
                    scope=scope,
                    company=company, created_at=utcnow())
    session.add(row)
    session.flush()
    return CreatedKey(key=_key(row), secret=token)


def verify_key(session: Session, *, token: str, touch: bool = True) -> ApiKey | None:
    """The active key `token` is, or None for a malformed, unknown, wrong or revoked one.

    With `touch`, records when the key was last used (at most once per TOUCH_INTERVAL).
    """
    match = _KEY.fullmatch(token.strip())
    if match is None:
        return None
    row = session.exec(
        select(ApiKeyRow).where(col(ApiKeyRow.prefix) == match.group("prefix"))
    ).first()
    # Compare even for a missing row, so timing does not tell a known prefix from an unknown one.
    expected = row.digest if row is not None else digest("")
    if not hmac.compare_digest(expected, digest(match.group(0))) or row is None:
        return None
    if row.revoked_at is not None:
        return None
    now = utcnow()
    if touch and (row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL):
        row.last_used_at = now
        session.add(row)
        session.flush()
    return _key(row)


def list_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    """Every key, oldest first; revoked ones only when asked."""
    stmt = select(ApiKeyRow).order_by(col(ApiKeyRow.id))
    if not include_revoked:
        stmt = stmt.where(col(ApiKeyRow.revoked_at).is_(None))
    return [_key(row) for row in session.exec(stmt)]


def revoke_key(session: Session, *, prefix: str) -> ApiKey | None:
    """Revoke the key with `prefix` (``fxk_`` optional); None if there is no such key.

    Revoking twice keeps the first revocation time.
    """
    match = _PREFIX.fullmatch(prefix.strip())
    if match is None:
        return None
    row = session.exec(
        select(ApiKeyRow).where(col(ApiKeyRow.prefix) == match.group("prefix"))
    ).first()
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    return _key(row)


def _key(row: ApiKeyRow) -> ApiKey:
    assert row.id is not None
    return ApiKey(id=row.id, prefix=row.prefix, name=row.name, scope=row.scope,
                  company=row.company, created_at=row.created_at,
                  last_used_at=row.last_used_at, revoked_at=row.revoked_at)
