"""Where this instance's actors and their collections live."""

from __future__ import annotations

from dataclasses import dataclass

from myco_graph.infrastructure.config import Settings


@dataclass(frozen=True)
class Urls:
    """The URLs of the instance's ActivityPub documents, from its base URL."""

    base: str
    domain: str

    @classmethod
    def of(cls, settings: Settings) -> Urls:
        return cls(base=str(settings.base_url).rstrip("/"), domain=settings.domain)

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def nodeinfo(self) -> str:
        return f"{self.base}/nodeinfo/2.1"

    def person(self, handle: str) -> str:
        return f"{self.base}/users/{handle}"

    def group(self, name: str) -> str:
        return f"{self.base}/groups/{name}"

    @staticmethod
    def key_id(actor: str) -> str:
        return f"{actor}#main-key"
