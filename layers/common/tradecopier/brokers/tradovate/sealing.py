"""Sealing the shared token for the table: KMS ``Encrypt``/``Decrypt`` with the stack's token key.

``CopierTable`` is encrypted at rest with DynamoDB's own key, which protects the disks, not the
token from whoever may read the table (the admin function, an operator with read access, a
point-in-time export): a Tradovate access token trades the account for up to 90 minutes. So the
token is stored as KMS ciphertext bound to its item by the encryption context
(``purpose=tradovate-token``, ``item=<pk>``); the IAM policy lets only the functions that hold the
credentials anyway use the key, and only with that purpose. Cost: one ``Encrypt`` per login or
renewal (one container, about every 75 min per user), one ``Decrypt`` per container per new token.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import SecretStr

from tradecopier import aws
from tradecopier.brokers.credentials import unlogged

PURPOSE = "tradovate-token"


class Sealer(Protocol):
    def seal(self, value: SecretStr, item: str) -> bytes: ...

    def open(self, sealed: bytes, item: str) -> SecretStr: ...


class KmsSealer:
    def __init__(self, key_id: str, client: Any = None) -> None:
        self.key_id = key_id
        self._client_override = client

    @property
    def _client(self) -> Any:
        return self._client_override or aws.client("kms")

    def seal(self, value: SecretStr, item: str) -> bytes:
        with unlogged():  # botocore logs request bodies at DEBUG: this one carries the token
            answer = self._client.encrypt(
                KeyId=self.key_id,
                Plaintext=value.get_secret_value().encode(),
                EncryptionContext={"purpose": PURPOSE, "item": item},
            )
        return bytes(answer["CiphertextBlob"])

    def open(self, sealed: bytes, item: str) -> SecretStr:
        with unlogged():  # ... and this response
            answer = self._client.decrypt(
                KeyId=self.key_id,
                CiphertextBlob=sealed,
                EncryptionContext={"purpose": PURPOSE, "item": item},
            )
        return SecretStr(bytes(answer["Plaintext"]).decode())
