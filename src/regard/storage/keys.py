"""Where a library's key comes from, and how it is created, opened and changed.

A new library gets a random data key. By default it is wrapped under a random key file
written to the user's configuration folder (`~/.config/regard/keys/<library id>.key`, mode
0600) — outside the library, so a copy of the library alone reveals nothing biometric. With a
passphrase instead, the wrapping key is derived with argon2id. `rekey` makes a new data key,
re-seals everything with it and wraps it under the new passphrase or a new key file: the old
key then opens nothing.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from regard.errors import KeyMissingError, WrongKeyError
from regard.storage.repositories import Store
from regard.storage.sealing import (
    WRAP_VERSION,
    Argon2Params,
    Sealer,
    kek_from_passphrase,
    new_key,
    read_key_file,
    unwrap,
    wrap,
    write_key_file,
)


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """What the user gave to open the library (nothing: the default key file)."""

    passphrase: str | None = None
    key_file: Path | None = None
    key_dir: Path | None = None  # where default key files live

    def default_dir(self) -> Path:
        if self.key_dir is not None:
            return self.key_dir
        env = os.environ.get("REGARD_KEY_DIR")
        if env:
            return Path(env)
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(base) / "regard" / "keys"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    kind: str  # "keyfile" | "argon2id"
    key_file: str | None
    key_id: str | None  # of the data key, when unlocked


class KeyManager:
    def __init__(self, catalog: Store, config: KeyConfig) -> None:
        self.catalog = catalog
        self.config = config
        self.library_id = catalog.runs.setting("library_id") or ""
        #: Unlocked from a wrap made before the audit chain was keyed: the caller keys the
        #: chain, then `upgrade_wrap()` records that it did (see sealing.WRAP_VERSION).
        self.legacy_wrap = False
        self._upgrade: tuple[bytes, bytes] | None = None

    @property
    def initialised(self) -> bool:
        return self.catalog.runs.setting("crypto.wrapped_key") is not None

    def info(self, sealer: Sealer | None) -> KeyInfo:
        return KeyInfo(
            kind=self.catalog.runs.setting("crypto.kek") or "none",
            key_file=self.catalog.runs.setting("crypto.key_file"),
            key_id=sealer.key_id if sealer else None,
        )

    def default_key_file(self) -> Path:
        return self.config.default_dir() / f"{self.library_id}.key"

    def initialise(self) -> Sealer | None:
        """Give a new (or pre-encryption) library its data key, and seal the vectors it holds
        (from before encryption) with it, in one transaction; None if the library has its key
        already. Checked again under the writer lock: two processes opening a new library at
        once (two `regard index` on a fresh PostgreSQL database) make one key, not one each
        (the second's would replace the first's, and what the first sealed would be lost)."""
        if self.initialised:
            return None
        with self.catalog.transaction():
            if self.initialised:  # made by another process while this one waited
                return None
            data_key = new_key()
            self._store_wrapped(data_key, self.config)
            sealer = Sealer(data_key)
            reseal_all(self.catalog, None, sealer)
        return sealer

    def unlock(self) -> Sealer | None:
        """The library's sealer, or None when no key source is available (locked)."""
        wrapped_b64 = self.catalog.runs.setting("crypto.wrapped_key")
        if wrapped_b64 is None:
            return None
        kek = self._kek()
        if kek is None:
            return None
        data_key, version = unwrap(kek, base64.b64decode(wrapped_b64), self.library_id)
        self.legacy_wrap = version < WRAP_VERSION
        self._upgrade = (kek, data_key) if self.legacy_wrap else None
        return Sealer(data_key)

    def upgrade_wrap(self) -> None:
        """Wrap the data key again, in the current version (call in the transaction that
        keyed the audit chain)."""
        if self._upgrade is None:
            return
        kek, data_key = self._upgrade
        wrapped = wrap(kek, data_key, self.library_id)
        self.catalog.runs.set_setting("crypto.wrapped_key", base64.b64encode(wrapped).decode())
        self.legacy_wrap = False
        self._upgrade = None

    def _kek(self) -> bytes | None:
        kind = self.catalog.runs.setting("crypto.kek")
        if kind == "argon2id":
            if self.config.passphrase is None:
                return None
            salt = base64.b64decode(self.catalog.runs.setting("crypto.salt") or "")
            params = Argon2Params(**json.loads(self.catalog.runs.setting("crypto.argon2") or "{}"))
            return kek_from_passphrase(self.config.passphrase, salt, params)
        if self.config.key_file is not None:
            return read_key_file(self.config.key_file)
        recorded = self.catalog.runs.setting("crypto.key_file")
        for candidate in (self.default_key_file(), Path(recorded) if recorded else None):
            if candidate is not None and candidate.is_file():
                return read_key_file(candidate)
        return None

    def _store_wrapped(self, data_key: bytes, config: KeyConfig) -> None:
        if config.passphrase is not None:
            if len(config.passphrase) < 8:
                raise WrongKeyError("a passphrase needs at least 8 characters")
            salt = secrets.token_bytes(16)
            params = Argon2Params()
            kek = kek_from_passphrase(config.passphrase, salt, params)
            self.catalog.runs.set_setting("crypto.kek", "argon2id")
            self.catalog.runs.set_setting("crypto.salt", base64.b64encode(salt).decode())
            self.catalog.runs.set_setting("crypto.argon2", json.dumps(asdict(params)))
            self.catalog.runs.delete_setting("crypto.key_file")
        else:
            path = config.key_file or self.default_key_file()
            if path.exists():
                kek = read_key_file(path)
            else:
                kek = new_key()
                write_key_file(path, kek)
            self.catalog.runs.set_setting("crypto.kek", "keyfile")
            self.catalog.runs.set_setting("crypto.key_file", str(path))
            self.catalog.runs.delete_setting("crypto.salt")
            self.catalog.runs.delete_setting("crypto.argon2")
        wrapped = wrap(kek, data_key, self.library_id)
        self.catalog.runs.set_setting("crypto.wrapped_key", base64.b64encode(wrapped).decode())
        self.catalog.runs.set_setting("crypto.scheme", "aes-256-gcm/1")

    def replace_key(self, new_config: KeyConfig) -> Sealer:
        """A new data key wrapped under the new passphrase or key file (a fresh key file when
        none is named: the old one is removed). The caller re-seals everything with it in the
        same transaction."""
        old_file = self.catalog.runs.setting("crypto.key_file")
        if new_config.passphrase is None and new_config.key_file is None:
            target = self.default_key_file()
            if old_file and Path(old_file) == target and target.exists():
                # The default file is about to hold a new key: retire the old one first.
                target.replace(target.with_suffix(".key.old"))
            new_config = KeyConfig(key_file=target, key_dir=new_config.key_dir)
        data_key = new_key()
        self._store_wrapped(data_key, new_config)
        return Sealer(data_key)

    def forget_old_key_file(self) -> None:
        retired = self.default_key_file().with_suffix(".key.old")
        if retired.exists():
            retired.unlink()

    def require(self, sealer: Sealer | None) -> Sealer:
        if sealer is None:
            raise KeyMissingError("no key or passphrase was given")
        return sealer


def reseal_all(catalog: Store, old: Sealer | None, new: Sealer) -> int:
    """Re-seal every stored vector (embeddings and templates) under `new`. With `old` None,
    the stored vectors are plaintext from before encryption existed. Call in a transaction."""
    codec = catalog.codec
    count = 0
    for face_id, model_id, blob in catalog.faces.raw_embeddings():
        if old is None:
            raw = bytes(blob)
        else:
            raw = old.open(bytes(blob), codec.context(face_id, model_id))
        catalog.faces.replace_embedding_blob(
            face_id, model_id, new.seal(raw, codec.context(face_id, model_id))
        )
        count += 1
    for template_id, context, blob in catalog.templates.raw():
        raw = bytes(blob) if old is None else old.open(bytes(blob), context)
        catalog.templates.replace_blob(template_id, new.seal(raw, context))
        count += 1
    return count
