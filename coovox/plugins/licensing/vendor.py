"""``coovox-license``: the vendor's tool to make key pairs, issue and inspect licences.

    coovox-license keygen -o DIR
    coovox-license issue REQUEST --key PRIVATE -o LICENCE [--expires never|YYYY-MM-DD]
    coovox-license inspect FILE [--public-key KEY]

Errors are one line on stderr and exit code 2; there is never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coovox.plugins.licensing import device, signing
from coovox.plugins.licensing.store import atomic_write


class ToolError(Exception):
    """A problem the user can fix; printed as one line."""


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ToolError(f"{what} {path}: not found") from None
    except IsADirectoryError:
        raise ToolError(f"{what} {path}: is a folder, not a file") from None
    except OSError as exc:
        raise ToolError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None


def _write(path: Path, data: bytes, *, force: bool = False) -> None:
    if path.exists() and not force:
        raise ToolError(f"{path}: already exists (use --force to replace it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    except OSError as exc:
        raise ToolError(f"{path}: cannot write ({exc.strerror or exc})") from None


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.output)
    key = Ed25519PrivateKey.generate()
    public = signing.public_key_b64(key)
    _write(out / "vendor.key", signing.private_key_pem(key), force=args.force)
    _write(out / "vendor.pub", (public + "\n").encode(), force=args.force)
    os.chmod(out / "vendor.pub", 0o644)
    print(f"private key: {out / 'vendor.key'} (keep it secret; never commit it)")
    print(f"public key:  {out / 'vendor.pub'}")
    print(f"licence_public_keys = [\"{public}\"]")
    return 0


def read_request(data: bytes, path: str) -> dict:
    """The fields of a ``billing.ac`` request; ToolError naming what is wrong."""
    try:
        request = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ToolError(f"request {path}: not a licence request (not valid JSON)") from None
    if not isinstance(request, dict):
        raise ToolError(f"request {path}: not a licence request (not a JSON object)")
    if request.get("product") != signing.PRODUCT:
        raise ToolError(f"request {path}: product must be {signing.PRODUCT!r}, "
                        f"not {request.get('product')!r}")
    if not isinstance(request.get("feature"), str) or not request["feature"]:
        raise ToolError(f"request {path}: 'feature' is missing")
    if not device.is_device_id(request.get("device_id")):
        raise ToolError(f"request {path}: 'device_id' is missing or not a device identity")
    return request


def cmd_issue(args: argparse.Namespace) -> int:
    request = read_request(_read(args.request, "request"), args.request)
    try:
        key = signing.load_private_key(_read(args.key, "private key"))
    except ValueError as exc:
        raise ToolError(f"private key {args.key}: {exc}") from None
    try:
        signing.parse_expires(args.expires)
    except ValueError as exc:
        raise ToolError(f"--expires: {exc}") from None
    payload = {
        "product": signing.PRODUCT,
        "feature": request["feature"],
        "device_id": request["device_id"],
        "issued_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "expires": args.expires,
    }
    _write(Path(args.output), signing.sign(key, payload), force=args.force)
    print(f"licence for {payload['feature']} on {payload['device_id']} "
          f"(expires {payload['expires']}) written to {args.output}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    data = _read(args.file, "licence")
    keys = []
    for text in args.public_key or []:
        if Path(text).is_file():
            text = Path(text).read_text().strip()
        try:
            keys.append(signing.load_public_key(text))
        except ValueError as exc:
            raise ToolError(f"--public-key: not an Ed25519 public key ({exc})") from None
    try:
        if keys:
            payload = signing.verify(data, keys)
            verdict = "signature: valid"
        else:
            payload, _ = signing._decode(data)
            verdict = "signature: not checked (give --public-key)"
    except signing.LicenceError as exc:
        raise ToolError(f"licence {args.file}: {exc}") from None
    print(json.dumps(payload, indent=2, sort_keys=True))
    print(verdict)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coovox-license",
                                     description="CooVox vendor licence tool (Ed25519)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("keygen", help="make a vendor key pair")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace existing files")
    p.set_defaults(handler=cmd_keygen)
    p = sub.add_parser("issue", help="sign a licence for a request file (billing.ac)")
    p.add_argument("request", metavar="REQUEST")
    p.add_argument("--key", required=True, metavar="PRIVATE", help="vendor.key (PEM)")
    p.add_argument("-o", "--output", required=True, metavar="LICENCE")
    p.add_argument("--expires", default="never", help="'never' (default) or YYYY-MM-DD")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(handler=cmd_issue)
    p = sub.add_parser("inspect", help="print a licence's payload (and verify it)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--public-key", action="append", metavar="KEY",
                   help="base64 public key or a file holding one (repeatable)")
    p.set_defaults(handler=cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage line
        return 0 if exc.code == 0 else 2
    try:
        return args.handler(args)
    except ToolError as exc:
        print(f"coovox-license: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback for the vendor's staff
        print(f"coovox-license: error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
