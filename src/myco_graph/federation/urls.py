"""Where this instance's actors, objects, activities and collections live."""

from __future__ import annotations

import uuid
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

    def note(self, message_id: int) -> str:
        """A message of a public project, as a Note."""
        return f"{self.base}/notes/{message_id}"

    def question(self, poll_id: int) -> str:
        """A poll of a public project, as a Question."""
        return f"{self.base}/questions/{poll_id}"

    def new_activity(self) -> str:
        """A fresh activity id: activities are never rewritten, so a random one."""
        return f"{self.base}/activities/{uuid.uuid4()}"

    def local_id(self, url: object, prefix: str) -> int | None:
        """The number at the end of one of our URLs under ``prefix``, if it is one."""
        if not isinstance(url, str) or not url.startswith(prefix):
            return None
        rest = url.removeprefix(prefix)
        return (
            int(rest) if rest.isascii() and rest.isdigit() and len(rest) < 19 else None
        )

    def note_id(self, url: object) -> int | None:
        return self.local_id(url, self.note(0).removesuffix("0"))

    def question_id(self, url: object) -> int | None:
        return self.local_id(url, self.question(0).removesuffix("0"))

    @staticmethod
    def key_id(actor: str) -> str:
        return f"{actor}#main-key"

    @staticmethod
    def outbox(actor: str) -> str:
        return f"{actor}/outbox"

    @staticmethod
    def followers(actor: str) -> str:
        return f"{actor}/followers"

    @staticmethod
    def members(actor: str) -> str:
        return f"{actor}/members"
