"""Reviewer accounts: who may move an article through review, with argon2-hashed passwords."""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from medcite.errors import AuthError, ConflictError, InputError
from medcite.store.sqlite import SQLiteStore

MIN_PASSWORD_CHARS = 8
# Hashing cost grows with length; a bound stops one request from tying up a worker.
MAX_PASSWORD_CHARS = 1024
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,63}")

_BAD_LOGIN = "invalid username or password"


class Role(StrEnum):
    """Members of the medical advisory board; every role may review, editors also revise."""

    REVIEWER = "reviewer"
    EDITOR = "editor"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    username: str
    role: Role


def validate_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise InputError(
            "a username is 3 to 64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return username


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InputError(f"a password may have at most {MAX_PASSWORD_CHARS} characters")
    return password


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InputError(f"unknown role {role!r}; choose one of: {choices}") from None


class UserAccounts:
    """Accounts kept in the store's ``users`` table; only argon2 hashes are stored."""

    def __init__(self, store: SQLiteStore, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _decoy_hash(self) -> str:
        """Checked when the username is unknown, so both failures take the same time."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    def add_user(self, username: str, password: str, role: Role | str) -> User:
        user = User(validate_username(username), parse_role(role))
        password_hash = self.hasher.hash(validate_password(password))
        now = datetime.now(UTC).isoformat(timespec="seconds")

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO users (username, password_hash, role, created_at) VALUES (?,?,?,?)",
                    (user.username, password_hash, user.role.value, now),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"the user {user.username!r} already exists") from None

        self.store.write(insert)
        return user

    def get(self, username: str) -> User | None:
        with self.store.reading() as conn:
            row = conn.execute("SELECT username, role FROM users WHERE username = ?",
                               (username,)).fetchone()
        return User(row[0], Role(row[1])) if row else None

    def authenticate(self, username: str, password: str) -> User:
        """The user whose password this is; one error for an unknown user or a wrong password."""
        with self.store.reading() as conn:
            row = conn.execute("SELECT username, role, password_hash FROM users WHERE username = ?",
                               (username,)).fetchone()
        if len(password) > MAX_PASSWORD_CHARS:
            raise AuthError(_BAD_LOGIN)
        try:
            self.hasher.verify(row[2] if row else self._decoy_hash, password)
        except (VerificationError, InvalidHashError):
            raise AuthError(_BAD_LOGIN) from None
        if row is None:
            raise AuthError(_BAD_LOGIN)
        user = User(row[0], Role(row[1]))
        if self.hasher.check_needs_rehash(row[2]):
            new_hash = self.hasher.hash(password)
            self.store.write(lambda conn: conn.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (new_hash, user.username)))
        return user
