"""Encryption at rest of everything biometric: AES-256-GCM under one data key per library.

The data key (random, 32 bytes) never touches the disk in the clear: it is stored wrapped
(AES-GCM) under a key-encryption key that comes either from a passphrase (argon2id) or from a
key file kept outside the library folder. Every sealed value is bound to what it is (its
"context", e.g. `embedding:12:sface`), so a ciphertext moved to another row fails to open.

Without the key, the catalog still opens: photos, people's names, the audit log and the
records can be read; vectors, templates and face crops cannot.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from regard.errors import KeyMissingError, WrongKeyError

NONCE = 12
KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """OWASP's argon2id baseline (2025): 64 MiB, 3 passes, 2 lanes."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 2


def kek_from_passphrase(passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
        key = base64.b64decode(text, validate=True)
    except FileNotFoundError as exc:
        raise KeyMissingError(f"the key file {path} does not exist") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise WrongKeyError(f"{path} is not a Regard key file ({exc})") from exc
    if len(key) != KEY_BYTES:
        raise WrongKeyError(f"{path} is not a Regard key file (wrong length)")
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Create a key file readable by its owner only (never overwriting one)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(key).decode("ascii") + "\n")


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


#: What a wrapped data key is bound to. Version 2 also says "this library's audit chain is
#: keyed": a wrap can only be made with the key-encryption key, so nobody without it can make
#: a library look as if its audit log had never been keyed (and have it re-keyed as it stands).
WRAP_VERSION = 2


def _wrap_context(library_id: str, version: int) -> bytes:
    return (f"regard-dek/{version}:" if version > 1 else "regard-dek:").encode() + (
        library_id.encode()
    )


def wrap(kek: bytes, data_key: bytes, library_id: str, version: int = WRAP_VERSION) -> bytes:
    nonce = secrets.token_bytes(NONCE)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, _wrap_context(library_id, version))


def unwrap(kek: bytes, wrapped: bytes, library_id: str) -> tuple[bytes, int]:
    """The data key, and the version of the wrap it was in."""
    for version in (WRAP_VERSION, 1):
        try:
            key = AESGCM(kek).decrypt(
                wrapped[:NONCE], wrapped[NONCE:], _wrap_context(library_id, version)
            )
        except (InvalidTag, ValueError):
            continue
        return key, version
    raise WrongKeyError("the key or passphrase given does not open this library")


class Sealer:
    """Seals and opens biometric values with the library's data key."""

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._fingerprint = hmac.new(data_key, b"regard-key-id", "sha256").hexdigest()[:16]
        self._data_key = data_key

    def derive(self, purpose: str) -> bytes:
        """A key for one other purpose (the audit chain's MAC), derived with HKDF-SHA256:
        knowing it reveals nothing of the data key or of keys for other purposes."""
        return HKDF(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
        ).derive(self._data_key)

    @property
    def key_id(self) -> str:
        """Names the data key without revealing it (changes with every rekey)."""
        return self._fingerprint

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode("utf-8"))

    def open(self, sealed: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE], sealed[NONCE:], context.encode("utf-8"))
        except (InvalidTag, ValueError) as exc:
            raise WrongKeyError(
                f"a sealed value ({context}) does not open with this library's key: it was "
                "damaged or moved"
            ) from exc
