"""The catalog as one self-contained HTML page (inline CSS, no script, no external fetch).

Rendered with Jinja2 from `meshgate/templates/catalog.html.j2`, package data loaded with
`PackageLoader` and `StrictUndefined` (a missing variable is an error, never an empty string),
autoescaped: names and descriptions come from users' objects. Jinja2 is imported when the first
page is rendered: the operator imports this module with the compiler, and Jinja2 would cost it
~2.5 MiB resident where no Gateway opts into a catalog.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from .model import Catalog

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "catalog.html.j2"


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("meshgate", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(catalog: Catalog) -> str:
    return _environment().get_template(TEMPLATE).render(catalog=catalog)
