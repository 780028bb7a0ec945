"""Users, their API keys and who may read a collection, in the state database (`rag.state.db`).

Passwords are kept as Argon2id hashes (argon2-cffi); an API key is shown once when it is made and kept only as
its sha256 (a key is 32 random bytes: a fast hash is enough, and it can be looked up by it). A collection's
access row names its owner and its visibility (private, shared with the users in its grants, or public to the
instance); a collection without a row is public (made before accounts, or in single-user mode)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from rag.state.db import Database
from rag.state.tables import api_keys, collection_access, collection_grants, users
from rag.types import Caller

ROLES = ("admin", "member")
VISIBILITIES = ("private", "shared", "public")
KEY_PREFIX = "rag-"
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_ACCOUNT_MODE_TTL = 1.0  # seconds the "are there users?" answer is reused (another server may add the first)


class UserError(ValueError):
    """An invalid, unknown or taken user name, role or visibility; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid_user") -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class Access:
    """Who may read a collection: its owner (a user id, or None), its visibility and the users it is shared with."""

    collection: str
    owner_id: str | None
    visibility: str
    grants: frozenset[str]


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Users:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.hasher = PasswordHasher()
        self._any: tuple[float, bool] = (0.0, False)

    # ---- users
    def accounts(self) -> bool:
        """Account mode: at least one user exists (else the single-user mode of a token or nothing)."""
        if not self.db.exists:
            return False
        at, value = self._any
        if time.monotonic() - at > _ACCOUNT_MODE_TTL:
            with self.db.begin() as db:
                value = db.execute(select(users.c.id).limit(1)).first() is not None
            self._any = (time.monotonic(), value)
        return value

    def add(self, name: str, role: str = "member", password: str | None = None) -> Caller:
        if not USER_NAME.match(name or ""):
            raise UserError(f"{name!r} is not a valid user name: 1-64 of A-Z a-z 0-9 . _ @ -, starting with a "
                            "letter or digit")
        if role not in ROLES:
            raise UserError(f"role {role!r}: choose admin or member")
        uid = uuid.uuid4().hex
        pw = self.hasher.hash(password) if password else None
        with self.db.begin() as db:
            if db.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
                raise UserError(f"user {name!r} already exists", 409, "user_exists")
            db.execute(users.insert().values(id=uid, name=name, role=role, password_hash=pw, created=time.time()))
        self._any = (time.monotonic(), True)
        return Caller(id=uid, name=name, role=role)

    def list(self) -> list[Caller]:
        with self.db.begin() as db:
            rows = db.execute(select(users.c.id, users.c.name, users.c.role).order_by(users.c.name)).all()
        return [Caller(id=r.id, name=r.name, role=r.role) for r in rows]

    def get(self, name: str) -> Caller:
        with self.db.begin() as db:
            row = db.execute(select(users.c.id, users.c.name, users.c.role).where(users.c.name == name)).first()
        if row is None:
            raise UserError(f"no user named {name!r}", 404, "user_not_found")
        return Caller(id=row.id, name=row.name, role=row.role)

    def delete(self, name: str) -> None:
        """The user, their keys, grants and conversations (cascades); collections they owned stay, ownerless."""
        with self.db.begin() as db:
            if db.execute(users.delete().where(users.c.name == name)).rowcount == 0:
                raise UserError(f"no user named {name!r}", 404, "user_not_found")
        self._any = (0.0, False)

    def set_password(self, name: str, password: str) -> None:
        if not password:
            raise UserError("the password is empty")
        pw = self.hasher.hash(password)
        with self.db.begin() as db:
            if db.execute(users.update().where(users.c.name == name).values(password_hash=pw)).rowcount == 0:
                raise UserError(f"no user named {name!r}", 404, "user_not_found")

    def verify_password(self, name: str, password: str) -> Caller | None:
        """The user, when `password` is theirs; None otherwise (an unknown name costs a hash all the same)."""
        with self.db.begin() as db:
            row = db.execute(select(users.c.id, users.c.name, users.c.role, users.c.password_hash)
                             .where(users.c.name == name)).first()
        stored = row.password_hash if row is not None and row.password_hash else None
        try:
            if stored is None:
                self.hasher.hash(password or "")  # the same time as a wrong password: no name shows by timing
                return None
            self.hasher.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            return None
        return Caller(id=row.id, name=row.name, role=row.role)

    # ---- API keys
    def create_api_key(self, name: str, label: str = "") -> str:
        """A new key for user `name`, returned once: only its hash is kept."""
        user = self.get(name)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.db.begin() as db:
            db.execute(api_keys.insert().values(id=uuid.uuid4().hex, user_id=user.id, key_hash=key_hash(key),
                                                label=label, created=time.time()))
        return key

    def resolve_api_key(self, key: str) -> Caller | None:
        if not key.startswith(KEY_PREFIX):
            return None
        with self.db.begin() as db:
            row = db.execute(select(users.c.id, users.c.name, users.c.role).join(api_keys, api_keys.c.user_id
                                                                                 == users.c.id)
                             .where(api_keys.c.key_hash == key_hash(key))).first()
        return None if row is None else Caller(id=row.id, name=row.name, role=row.role)

    def revoke_api_keys(self, name: str) -> int:
        """Every key of user `name` (a key that leaked); how many there were."""
        user = self.get(name)
        with self.db.begin() as db:
            return db.execute(api_keys.delete().where(api_keys.c.user_id == user.id)).rowcount

    # ---- collection access
    def access(self, collection: str) -> Access | None:
        with self.db.begin() as db:
            row = db.execute(select(collection_access).where(collection_access.c.collection == collection)).first()
            if row is None:
                return None
            grants = db.execute(select(collection_grants.c.user_id)
                                .where(collection_grants.c.collection == collection)).scalars().all()
        return Access(collection, row.owner_id, row.visibility, frozenset(grants))

    def all_access(self) -> dict[str, Access]:
        with self.db.begin() as db:
            rows = db.execute(select(collection_access)).all()
            grants = db.execute(select(collection_grants.c.collection, collection_grants.c.user_id)).all()
        given: dict[str, set[str]] = {}
        for g in grants:
            given.setdefault(g.collection, set()).add(g.user_id)
        return {r.collection: Access(r.collection, r.owner_id, r.visibility, frozenset(given.get(r.collection, ())))
                for r in rows}

    def set_access(self, collection: str, owner_id: str | None, visibility: str,
                   grants: set[str] | None = None) -> None:
        """Replace a collection's row (and, when `grants` is given, its grants)."""
        if visibility not in VISIBILITIES:
            raise UserError(f"visibility {visibility!r}: choose private, shared or public")
        with self.db.begin() as db:
            exists = db.execute(select(collection_access.c.collection)
                                .where(collection_access.c.collection == collection).with_for_update()).first()
            if exists:
                db.execute(collection_access.update().where(collection_access.c.collection == collection)
                           .values(owner_id=owner_id, visibility=visibility))
            else:
                db.execute(collection_access.insert().values(collection=collection, owner_id=owner_id,
                                                             visibility=visibility))
            if grants is not None:
                db.execute(collection_grants.delete().where(collection_grants.c.collection == collection))
                if grants:
                    db.execute(collection_grants.insert(), [{"collection": collection, "user_id": u} for u in grants])

    def forget_collection(self, collection: str) -> None:
        """A deleted collection's row and grants: a new one of the same name starts afresh."""
        with self.db.begin() as db:
            db.execute(collection_access.delete().where(collection_access.c.collection == collection))
