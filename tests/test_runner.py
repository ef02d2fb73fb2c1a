"""``coovox run`` start-up: what it leaves behind for a long-running process."""

from __future__ import annotations

import gc

from coovox import runner
from coovox.context import Coovox
from coovox.plugin_host import PluginHost


async def test_objects_loaded_at_start_are_kept_out_of_full_collections(config):
    """A full garbage collection must not walk the whole program while calls run: what
    start-up loaded is frozen (the pause it saves is measured in BENCHMARKS.md)."""
    gc.unfreeze()
    coovox = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    web = await runner.start(coovox, host="127.0.0.1", port=0)
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # modules, ORM metadata, templates...
        assert len(gc.get_objects(generation=2)) < frozen
    finally:
        gc.unfreeze()
        await web.cleanup()
        await coovox.close()
