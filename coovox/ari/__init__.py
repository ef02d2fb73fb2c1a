"""The ARI connection: events over an aiohttp websocket, REST over ``coovox.ari.http``
(a small keep-alive HTTP/1.1 client: half aiohttp's CPU per request, ``bench/ariclient.py``);
at connect the server's swagger is read to warn about operations it lacks.

    conn = AriConnection(url, user, password, app,
                         on_event=handle,            # async/sync handler(event: dict)
                         event_key=key_fn,           # event -> key; serial per key (default: channel id)
                         on_connect=reconcile,       # after every websocket (re)connect
                         on_disconnect=lost)         # lost(error: str | None)
    await conn.start()      # background reconnect loop, backoff 0.2 s doubling to 5 s
    await conn.wait_connected(timeout)
    conn.status()           # {connected, connected_since, last_error, reconnects, url, app}
    await conn.stop()

Events: noise (ChannelVarset, ChannelDialplan, ChannelConnectedLine) and malformed events
are dropped; the rest go to ``conn.router`` (``EventRouter``): one serial queue per key,
keys in parallel, so a slow handler only delays its own call. ``conn.router.key`` may be
replaced at any time; ``await conn.router.drain()`` waits until all queued events ran.

REST (``timeout`` s per call, ``AriError(status, message)``,
``AriNotFound`` on 404): channel_create, channel_dial, channel_answer, channel_ring,
channel_ring_stop, channel_hangup (False if gone), channel_play, playback_stop (False if
gone), channel_get (None if gone), channels_list, channel_set_var, bridge_create,
bridge_add, bridge_destroy (False if gone), bridges_list, bridge_get (None if gone),
application_get. The REST methods also work without ``start()`` (class ``AriRest``).
"""

from coovox.ari.connection import NOISE_EVENTS, AriConnection, parse_event
from coovox.ari.errors import AriError, AriNotFound
from coovox.ari.rest import AriRest, basic_auth, public_url
from coovox.ari.router import EventRouter, default_event_key

__all__ = ["NOISE_EVENTS", "AriConnection", "AriError", "AriNotFound", "AriRest", "basic_auth",
           "EventRouter", "default_event_key", "parse_event", "public_url"]
