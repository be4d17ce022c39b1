"""The one exception tree of myco-graph.

Every layer raises subclasses of :class:`MycoError`; callers catch the base.
Foreign errors (database driver, HTTP client, signature library) are
translated where they enter and re-raised from the original::

    MycoError
    ├── ClientError            the caller can fix it; shown as is
    │   ├── Unauthenticated    no valid credentials
    │   ├── Forbidden          credentials valid, action not allowed
    │   ├── NotFound           no such thing, or not visible to the caller
    │   ├── BadUserInput       a value the caller sent is wrong
    │   ├── ConsentRequired    a personal value without a covering grant
    │   ├── RateLimited        too many requests; retry later
    │   └── SignatureRefused   an inbound HTTP signature does not hold
    │       ├── SignatureMissing       no Signature header
    │       ├── SignatureMalformed     garbled, or an algorithm we do not take
    │       ├── SignatureIncomplete    signs too few headers
    │       ├── SignatureDateRefused   Date absent, garbled or over an hour off
    │       ├── DigestMismatch         Digest absent, garbled or not the body's
    │       ├── SigningKeyUnavailable  the keyId's key cannot be obtained
    │       ├── SignatureInvalid       does not verify with the sender's key
    │       └── ActorMismatch          an activity signed by another actor's key
    ├── RemoteError            another instance failed us; retry or give up
    │   ├── FetchRefused       a URL we never fetch (scheme, private address)
    │   ├── RemoteUnavailable  unreachable, too slow, or an error status
    │   ├── RemoteTooLarge     a response over the size limit
    │   └── RemoteInvalid      not JSON, or not the document expected
    └── ServiceError           our side failed; masked for the client
        ├── ConfigurationError a setting is missing or wrong
        └── BackendUnavailable database, Redis or queue unreachable

What a client sees for each class lives in one table, in the GraphQL layer.
Messages of client errors never carry a member's personal value or a secret.
"""

from __future__ import annotations


class MycoError(Exception):
    """Root of every error myco-graph raises on purpose."""


class ClientError(MycoError):
    """An error the caller caused and can fix; its message is shown as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(ClientError):
    """No credentials, or a token that is unknown, expired or revoked."""


class Forbidden(ClientError):
    """The caller is known but may not do this."""


class NotFound(ClientError):
    """Nothing with this id exists, or the caller may not know it exists."""


class BadUserInput(ClientError):
    """A value sent by the caller is invalid; ``field`` names the input path."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConsentRequired(ClientError):
    """A personal value was asked for without a grant that covers the read."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class RateLimited(ClientError):
    """Too many requests from one token or address."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SignatureRefused(ClientError):
    """An inbound request's HTTP signature does not hold; it is answered with 401.

    Messages name what is wrong with the request, never a key or a secret.
    """


class SignatureMissing(SignatureRefused):
    """The request carries no Signature header."""


class SignatureMalformed(SignatureRefused):
    """The Signature header cannot be read, or names an algorithm we do not take."""


class SignatureIncomplete(SignatureRefused):
    """The signature leaves out a header that must be signed."""


class SignatureDateRefused(SignatureRefused):
    """The Date header is absent, garbled, or too far from our clock."""


class DigestMismatch(SignatureRefused):
    """The Digest header is absent, garbled, or not the digest of the body."""


class SigningKeyUnavailable(SignatureRefused):
    """The key named by ``keyId`` could not be fetched or read."""


class SignatureInvalid(SignatureRefused):
    """The signature does not verify with the sender's public key."""


class ActorMismatch(SignatureRefused):
    """An inbound activity's actor is not the owner of the key that signed it."""


class RemoteError(MycoError):
    """Another instance could not be reached, or answered with something unusable.

    Neither the caller's fault nor ours: a job retries, a request gives up.
    """


class FetchRefused(RemoteError):
    """A URL we never fetch: not https, or a host with a private address."""


class RemoteUnavailable(RemoteError):
    """The remote host did not answer in time, or answered with an error status."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RemoteTooLarge(RemoteError):
    """The remote response is larger than we read."""


class RemoteInvalid(RemoteError):
    """The remote document is not JSON, or not the kind of document expected."""


class ServiceError(MycoError):
    """Our side failed; the client sees a masked message."""


class ConfigurationError(ServiceError):
    """A setting is missing, malformed or inconsistent with another."""


class BackendUnavailable(ServiceError):
    """A backing service (database, Redis) could not be reached."""
