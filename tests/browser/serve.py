"""Run the real application for the browser tests: ``python -m tests.browser.serve``.

Configuration comes from the environment (``COOVOX_*``) like ``coovox run``; the first
administrator ``admin`` is created with ``FIRST_ADMIN_PASSWORD`` when missing (an empty
``FIRST_ADMIN_PASSWORD`` starts with no user).
"""

from __future__ import annotations

import asyncio
import logging
import os

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.runner import serve


async def main() -> None:
    coovox = Coovox(config=load_config(), plugins=PluginHost())
    await coovox.open(startup=False)
    try:
        from coovox.users import create_user, has_users

        password = os.environ.get("FIRST_ADMIN_PASSWORD", "")
        if password and not await has_users():  # empty: start with no user at all
            await create_user("admin", password)
    finally:
        await coovox.close()
    await serve(Coovox(config=load_config(), plugins=PluginHost()))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
