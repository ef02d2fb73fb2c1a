"""Write a tiny installed distribution (``*.dist-info`` + modules) into a folder on sys.path.

Used to show third-party plugins are found through the real entry-point mechanism.
"""

from __future__ import annotations

from pathlib import Path


def write_dist(site: Path, name: str, version: str, entry_points: dict[str, str],
               modules: dict[str, str]) -> Path:
    """Create ``site/<name>-<version>.dist-info`` with ``coovox.plugins`` entry points.

    ``entry_points`` maps plugin name → ``module`` (or ``module:attr``); ``modules`` maps
    module name → source text.  Returns ``site``; put it on ``sys.path``/``PYTHONPATH``.
    """
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[coovox.plugins]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)
    return site


PROBE_SOURCE = '''"""A probe plugin that records its calls."""
from coovox.hookspecs import hookimpl
from coovox.hooktypes import Route
from aiohttp import web

CALLS = []


@hookimpl
def coovox_startup(coovox):
    CALLS.append("startup")


@hookimpl
def coovox_call_fields(call_ids):
    CALLS.append("call_fields")
    return {cid: {"probe": True} for cid in call_ids}


async def _hello(request):
    return web.json_response({"hello": "probe"})


@hookimpl
def coovox_routes(coovox):
    return [Route("GET", "/api/v1/probe", _hello, "probe_hello", api=True,
                  openapi={"summary": "probe", "tags": ["probe"]})]
'''
