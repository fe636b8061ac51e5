"""Every page of the web app's router is served by the server too: a reload or a link opened
in a new tab gets the app, not a 404."""

import re

from regard.interfaces.http.web import PAGES, STATIC


def shape(path: str) -> str:
    """A route with its parameters blanked (`/people/:ref` and `/people/{ref}` alike)."""
    return re.sub(r":\w+|\{\w+\}", "{}", path)


def test_every_route_of_the_app_is_a_page_of_the_server() -> None:
    routes = re.findall(r'\{ path: "([^"]+)"', (STATIC / "app.js").read_text(encoding="utf-8"))
    assert len(routes) > 10  # the pattern still finds the router's table
    served = {shape(p) for p in PAGES}
    assert [r for r in routes if shape(r) not in served] == []
