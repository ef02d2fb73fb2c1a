"""The voice prompts callers hear, shipped in ``coovox/sounds/<language>/<name>.wav``.

Asterisk plays a file by its absolute path without the extension (``sound:/dir/name``), so
it must run on this machine (or see the same path).  ``sounds_dir`` points elsewhere, e.g.
to recorded prompts of your own with the same names.  The texts are in
``scripts/make-prompts.sh``.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[2] / "sounds"  # coovox/sounds
PIN_ENTER = "pin-enter"      # "Please enter your PIN, followed by the pound key."
PIN_WRONG = "pin-wrong"      # "That PIN is not valid."
LOW_BALANCE = "low-balance"  # "Your balance is low. This call will end soon."
NAMES = (PIN_ENTER, PIN_WRONG, LOW_BALANCE)
# 1400 Hz for half a second, shipped as a file (``coovox/sounds/beep.wav``, the same in
# every language).  Not the tone string ``tone:!1400/500``: Asterisk plays a ``tone:``
# until the playback is stopped, even a one-shot one, so the prompt listed after it
# would never play.  Where the beep cannot be read, Asterisk goes on with the prompt.
BEEP = f"sound:{(SHIPPED / 'beep').resolve()}"


def prompt_media(name: str, language: str, sounds_dir: str = "") -> str:
    """The ARI media URI of prompt ``name`` in ``language``."""
    if name not in NAMES:
        raise ValueError(f"unknown prompt {name!r}")
    base = Path(sounds_dir) if sounds_dir else SHIPPED
    return f"sound:{(base / language / name).resolve()}"
