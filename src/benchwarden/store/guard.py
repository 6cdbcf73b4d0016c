"""Database errors as StoreError, for warden's store modules: messages that say what
failed and where, with any password scrubbed, and constraint refusals told apart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from benchwarden.store.records import StoreError
from benchwarden.store.urls import display_url, scrub, sentence


class Conflict(StoreError):
    """A unique or foreign key constraint refused the write."""


class Guard:
    """Turns SQLAlchemy errors into StoreError naming the action and the database."""

    def __init__(self, url: URL, given: str) -> None:
        self.url = url
        self.given = given
        self.shown = display_url(url)

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            raise Conflict(f"Cannot {action} in {self.shown}: a constraint refused it.") from exc
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            reason = sentence(scrub(str(cause), self.given, self.url))
            raise StoreError(f"Cannot {action} in {self.shown}: {reason}") from exc
