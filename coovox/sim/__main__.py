"""``python -m coovox.sim --port N``: run the ARI double standalone until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from coovox.sim.double import AriDouble


async def _serve(args: argparse.Namespace) -> None:
    double = AriDouble(app=args.app, user=args.user, password=args.password,
                       time_scale=args.time_scale)
    await double.start(host=args.host, port=args.port)
    print(f"ARI double for app {args.app!r} on {double.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await double.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m coovox.sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--app", default="coovox")
    parser.add_argument("--user", default="coovox")
    parser.add_argument("--password", default="coovox-secret")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="factor for the default far-end timings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
