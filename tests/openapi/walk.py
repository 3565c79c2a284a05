"""The README's first walk, through a client generated from /openapi.json
by openapi-python-client (tests/generated_client.rs generates it and runs
this script with the package on the path and WATCHME_BASE set).

Register, log in, search, open a movie with the token, set its library
status, read the view history: each answer is parsed by the generated
models, so a response that breaks the spec fails here.
"""

import os
import sys
import uuid

from watchme_client import AuthenticatedClient, Client
from watchme_client.api.auth import login, me, register
from watchme_client.api.library import my_library, update_library_entry
from watchme_client.api.movies import movie_details, my_views, search_movies
from watchme_client.models import (
    LibraryUpdateRequest,
    LoginRequest,
    RegisterRequest,
    WatchStatusDto,
)
from watchme_client.types import UNSET


def expect(answer, status):
    """The parsed body of an answer with this status, or a clear failure."""
    if answer.status_code != status or answer.parsed is None:
        sys.exit(f"expected {status}, got {answer.status_code}: {answer.content!r}")
    return answer.parsed


base = os.environ["WATCHME_BASE"]
anonymous = Client(base_url=base, raise_on_unexpected_status=True)
email = f"walk-{uuid.uuid4().hex[:8]}@example.com"

user = expect(
    register.sync_detailed(
        client=anonymous,
        body=RegisterRequest(email=email, password="correct horse", display_name="Ada"),
    ),
    201,
)
assert user.email == email and user.display_name == "Ada", user
assert user.last_login_at is UNSET, "no login yet: the field is left out, not null"

tokens = expect(
    login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password="correct horse")), 200
)
client = AuthenticatedClient(base_url=base, token=tokens.access_token, raise_on_unexpected_status=True)
assert expect(me.sync_detailed(client=client), 200).email == email

found = expect(search_movies.sync_detailed(client=anonymous, query="matrix", year=1999), 200)
matrix = next(m for m in found.items if m.title == "The Matrix")

movie = expect(movie_details.sync_detailed(client=client, id=matrix.id), 200)
assert movie.id == matrix.id and movie.title == "The Matrix", movie

entry = expect(
    update_library_entry.sync_detailed(
        client=client,
        movie_id=matrix.id,
        body=LibraryUpdateRequest(status=WatchStatusDto.WATCHED, rating=9),
    ),
    200,
)
assert entry.status == WatchStatusDto.WATCHED and entry.rating == 9, entry

library = expect(my_library.sync_detailed(client=client, status=WatchStatusDto.WATCHED), 200)
assert [e.movie_id for e in library.items] == [matrix.id], library

views = expect(my_views.sync_detailed(client=client), 200)
assert [v.movie_id for v in views.items] == [matrix.id], views
print(f"walked: {email} watched {movie.title} ({movie.release_date}), {len(views.items)} view")
