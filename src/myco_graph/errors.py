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
    │   └── RateLimited        too many requests; retry later
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


class ServiceError(MycoError):
    """Our side failed; the client sees a masked message."""


class ConfigurationError(ServiceError):
    """A setting is missing, malformed or inconsistent with another."""


class BackendUnavailable(ServiceError):
    """A backing service (database, Redis) could not be reached."""
