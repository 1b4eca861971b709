"""Encryption at rest of raw mail (``message.raw``, ``outboxitem.raw``, and the files answers
carry, ``draftfile.raw``) with the keys of
``PD_RAW_KEYS``: Fernet from the ``cryptography`` package, several keys for rotation.

``PD_RAW_KEYS`` holds comma-separated Fernet keys (``privacy-desk keys new`` makes one): the
first encrypts, every one decrypts (``MultiFernet``), so a new key goes first and the old one
stays listed until ``privacy-desk keys rotate`` has re-encrypted every row with the new one.

The two columns are ``EncryptedRaw``, so every reader and writer of the models (ORM or Core)
stays unchanged. What a column holds:

- ``SEALED`` + a Fernet token: written while a key was set;
- ``PLAIN`` + the bytes: written without a key, when the bytes happen to begin like a marker;
- anything else: the bytes as they are (rows written without a key, before this module too).

So rows written before a key was set still read, and a sealed row is never mistaken for mail:
without the key, or with a wrong one, it is a ``RawKeyError`` naming the setting, never bytes.
The key lives with the process, as the engine does: one per process, applied by ``configure``
where the command line starts, from the checked settings (``bot.settings``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Dialect, Engine, LargeBinary, bindparam, text
from sqlalchemy.types import TypeDecorator

from storage.db import writer
from storage.errors import StorageError

SETTING = "PD_RAW_KEYS"
SEALED = b"\x00pd-fernet\x00"
PLAIN = b"\x00pd-plain\x00"


class RawKeyError(StorageError):
    """``PD_RAW_KEYS`` is malformed, or does not hold the key a stored row needs."""


class Keyring:
    """The keys of ``PD_RAW_KEYS``: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise RawKeyError(f"{SETTING} names no key")
        fernets: list[Fernet] = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # Never the key itself in the message: it is a secret.
                raise RawKeyError(
                    f"{SETTING}: key {number} of {len(keys)} is not a Fernet key "
                    "(44 characters of url-safe base64; `privacy-desk keys new` makes one)"
                ) from None
        self._fernet = MultiFernet(fernets)
        self.size = len(fernets)

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)

    def __repr__(self) -> str:  # never the keys
        return f"Keyring({self.size} key{'' if self.size == 1 else 's'})"


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def keyring_from(value: str | None) -> Keyring | None:
    """The keyring a ``PD_RAW_KEYS`` value names; None when unset or blank (no encryption)."""
    if value is None or not value.strip():
        return None
    return Keyring([part.strip() for part in value.split(",") if part.strip()])


_active: Keyring | None = None


def configure(keyring: Keyring | None) -> None:
    """Use ``keyring`` for the raw columns from now on in this process (None: write plaintext)."""
    global _active
    _active = keyring


def active() -> Keyring | None:
    return _active


def seal(data: bytes, keyring: Keyring | None) -> bytes:
    """What the column stores for ``data``."""
    if not data:
        return data  # nothing to hide; a purged outbox row reads as purged in plain SQL too
    if keyring is not None:
        return SEALED + keyring.encrypt(data)
    if data.startswith((SEALED, PLAIN)):
        return PLAIN + data
    return data


def unseal(stored: bytes, keyring: Keyring | None) -> bytes:
    """The bytes a stored value holds; ``RawKeyError`` when it is sealed and cannot be opened."""
    if stored.startswith(PLAIN):
        return stored[len(PLAIN) :]
    if not stored.startswith(SEALED):
        return stored
    if keyring is None:
        raise RawKeyError(
            f"raw mail in the database is encrypted and {SETTING} is not set: "
            "set it to the key(s) the mail was written with"
        )
    try:
        return keyring.decrypt(stored[len(SEALED) :])
    except InvalidToken:
        raise RawKeyError(
            f"raw mail in the database is encrypted with a key that is not in {SETTING} "
            "(or its stored bytes are damaged)"
        ) from None


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(SEALED)


class EncryptedRaw(TypeDecorator[bytes]):
    """Raw mail, encrypted with the process's keyring when it has one (see the module's note)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else seal(bytes(value), _active)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else unseal(bytes(value), _active)


# The tables with raw mail, read and written as stored (LargeBinary, not EncryptedRaw) here.
RAW_TABLES = ("message", "outboxitem", "labelledexample", "draftfile")


@dataclass(frozen=True)
class RotateSummary:
    encrypted: int  # rows that held plaintext
    rotated: int  # rows re-encrypted under the first key


def rotate(
    engine: Engine,
    keyring: Keyring,
    *,
    batch: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> RotateSummary:
    """Encrypt every raw row with the keyring's first key: plaintext rows are encrypted, sealed
    ones re-encrypted (their key must be in the keyring). One transaction per batch, so a long
    run can be stopped and started again; a row that cannot be opened stops it, changing
    nothing more. ``progress(done, total)`` is told after each committed batch."""
    encrypted = rotated = 0
    total = 0
    if progress is not None:
        with engine.connect() as connection:
            for table in RAW_TABLES:
                count = text(f"SELECT count(*) FROM {table} WHERE raw IS NOT NULL")
                total += int(connection.execute(count).scalar_one())
    done = 0
    for table in RAW_TABLES:
        read = text(
            f"SELECT id, raw FROM {table} WHERE raw IS NOT NULL AND id > :after "
            "ORDER BY id LIMIT :limit"
        )
        write = text(f"UPDATE {table} SET raw = :raw WHERE id = :id").bindparams(
            bindparam("raw", type_=LargeBinary)
        )
        after = 0
        while True:
            with writer(engine).begin() as connection:
                rows = connection.execute(read, {"after": after, "limit": batch}).all()
                for row_id, value in rows:
                    stored = bytes(value)
                    if not stored:
                        continue
                    if is_sealed(stored):
                        try:
                            token = keyring.rotate(stored[len(SEALED) :])
                        except InvalidToken:
                            raise RawKeyError(
                                f"{table} row {row_id} is encrypted with a key that is not in "
                                f"{SETTING}; add that key after the new one and run again"
                            ) from None
                        rotated += 1
                    else:
                        token = keyring.encrypt(unseal(stored, None))
                        encrypted += 1
                    connection.execute(write, {"raw": SEALED + token, "id": row_id})
            done += len(rows)
            if progress is not None:
                progress(done, max(total, done))
            if len(rows) < batch:
                break
            after = rows[-1][0]
    return RotateSummary(encrypted, rotated)
