"""Make sure a headless Chromium exists for the browser tests (installs it in CI).

Locally, without root or network, the browser tests skip with a reason instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from browser import chromium_path as find_chromium  # one definition of "a browser exists" for setup and tests


def main() -> int:
    if find_chromium():
        return 0
    if not os.environ.get("CI") and os.environ.get("AUTOML_INSTALL_BROWSER") != "1":
        print("browser_setup: no Chromium; browser tests will be skipped (set AUTOML_INSTALL_BROWSER=1 to install)")
        return 0
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("browser_setup: installing Debian chromium for the browser tests", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not find_chromium():
        print("browser_setup: could not install Chromium", file=sys.stderr)
        return 1 if os.environ.get("CI") else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
