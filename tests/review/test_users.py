import sqlite3
from pathlib import Path

import pytest

from medcite.errors import AuthError, ConflictError, InputError
from medcite.review import Role, UserAccounts
from tests.conftest import sqlite_only

PASSWORD = "correct horse battery"


@sqlite_only
def test_passwords_are_stored_only_as_argon2_hashes(store, accounts: UserAccounts):
    accounts.add_user("alice", PASSWORD, "reviewer")
    [(stored,)] = sqlite3.connect(store.location).execute("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    store.close()  # checkpoint the WAL so the whole database is in the file read below
    assert PASSWORD.encode() not in Path(store.location).read_bytes()


def test_authenticate(accounts: UserAccounts):
    accounts.add_user("alice", PASSWORD, Role.EDITOR)
    user = accounts.authenticate("alice", PASSWORD)
    assert (user.username, user.role) == ("alice", Role.EDITOR)
    assert accounts.get("alice") == user and accounts.get("bob") is None


@pytest.mark.parametrize("username,password", [("alice", "wrong password"), ("bob", PASSWORD),
                                               ("alice", "x" * 5000)])
def test_one_message_for_unknown_user_and_wrong_password(accounts, username, password):
    accounts.add_user("alice", PASSWORD, "reviewer")
    with pytest.raises(AuthError) as caught:
        accounts.authenticate(username, password)
    assert type(caught.value) is AuthError
    assert str(caught.value) == "invalid username or password"


@pytest.mark.parametrize("username,password,role,message", [
    ("al", PASSWORD, "reviewer", "3 to 64 characters"),
    ("alice smith", PASSWORD, "reviewer", "letters, digits"),
    ("-alice", PASSWORD, "reviewer", "starting with a letter or digit"),
    ("alice", "short", "reviewer", "at least 8 characters"),
    ("alice", PASSWORD, "chief", "unknown role 'chief'; choose one of: reviewer, editor, admin"),
])
def test_account_validation(accounts, username, password, role, message):
    with pytest.raises(InputError, match=message):
        accounts.add_user(username, password, role)
    assert accounts.get(username) is None


def test_duplicate_username_is_a_conflict(accounts):
    accounts.add_user("alice", PASSWORD, "reviewer")
    with pytest.raises(ConflictError, match="already exists"):
        accounts.add_user("alice", PASSWORD + "!", "admin")
    assert accounts.authenticate("alice", PASSWORD).role is Role.REVIEWER
