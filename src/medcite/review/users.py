"""Reviewer accounts: who may move an article through review, with argon2-hashed passwords,
and their sign-in sessions, kept in the store so that they can be ended (see store.accounts)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from medcite.errors import AuthError, InputError, NotFoundError
from medcite.store.base import Store

MIN_PASSWORD_CHARS = 8
# Hashing cost grows with length; a bound stops one request from tying up a worker.
MAX_PASSWORD_CHARS = 1024
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,63}")

_BAD_LOGIN = "invalid username or password"
SESSION_SECONDS = 12 * 60 * 60


class Role(StrEnum):
    """Members of the medical advisory board; every role may review, editors also revise."""

    REVIEWER = "reviewer"
    EDITOR = "editor"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    disabled: bool = False


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

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.accounts = store.accounts
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _decoy_hash(self) -> str:
        """Checked when the username is unknown, so both failures take the same time."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    def add_user(self, username: str, password: str, role: Role | str) -> User:
        user = User(validate_username(username), parse_role(role))
        password_hash = self.hasher.hash(validate_password(password))
        now = datetime.now(UTC).isoformat(timespec="seconds")

        self.accounts.add(user.username, password_hash, user.role.value, now)  # ConflictError if taken
        return user

    def get(self, username: str) -> User | None:
        row = self.accounts.find(username)
        return User(row.username, Role(row.role), row.disabled) if row else None

    def authenticate(self, username: str, password: str) -> User:
        """The user whose password this is; one error for an unknown user or a wrong password.
        A disabled account is refused, said so only to whoever knows its password."""
        row = self.accounts.find(username)
        if len(password) > MAX_PASSWORD_CHARS:
            raise AuthError(_BAD_LOGIN)
        try:
            self.hasher.verify(row.password_hash if row else self._decoy_hash, password)
        except (VerificationError, InvalidHashError):
            raise AuthError(_BAD_LOGIN) from None
        if row is None:
            raise AuthError(_BAD_LOGIN)
        if row.disabled:
            raise AuthError(f"the account {row.username!r} is disabled; an administrator can "
                            "enable it with 'medcite user enable'")
        user = User(row.username, Role(row.role))
        if self.hasher.check_needs_rehash(row.password_hash):
            new_hash = self.hasher.hash(password)
            self.accounts.set_password_hash(user.username, new_hash, only_if=row.password_hash)
        return user

    # -- administration (medcite user ...) ---------------------------------------------------

    def set_password(self, username: str, password: str) -> int:
        """Replace the password; every session of the account ends. Returns how many did."""
        password_hash = self.hasher.hash(validate_password(password))

        ended = self.accounts.replace_password(username, password_hash)
        if ended is None:
            raise NotFoundError(f"there is no user {username!r}")
        return ended

    def set_disabled(self, username: str, disabled: bool) -> int:
        """Disable (ending every session at once) or enable an account; returns the number of
        sessions ended."""
        ended = self.accounts.set_disabled(username, disabled)
        if ended is None:
            raise NotFoundError(f"there is no user {username!r}")
        return ended

    # -- sessions ----------------------------------------------------------------------------

    def start_session(self, user: User, seconds: int = SESSION_SECONDS) -> str:
        """A new session token for the cookie; the store keeps only its hash."""
        token = secrets.token_urlsafe(32)
        now = int(time.time())
        self.accounts.start_session(_token_hash(token), user.username, now, now + seconds)
        return token

    def session_user(self, token: str) -> User | None:
        """The account of a live session; None once it ended, expired or the account was
        disabled (checked on every request, so revocation takes effect at once)."""
        row = self.accounts.session_user(_token_hash(token), int(time.time()))
        return User(row[0], Role(row[1])) if row else None

    def end_session(self, token: str) -> None:
        self.accounts.end_session(_token_hash(token))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
