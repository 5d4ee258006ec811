#!/usr/bin/env bash
# The tests, with what they need: the real Moodle 4.4 of ../shared/moodle-lab on loopback
# (installed on the first call, a few minutes; started in seconds after that) with moosync's
# plugin local_moosync in it, then `cargo test --locked` (extra arguments go to cargo test).
# As root, on Debian 12: the lab installs PostgreSQL, PHP and nginx from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
lab="${MOOSYNC_SHARED:-../shared}/moodle-lab/setup.sh"
[ -f "$lab" ] || { echo "with-lab: no $lab (the shared folder beside the checkout)" >&2; exit 1; }
# The web console's tests drive a real headless Chromium (Debian's packages).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver
fi
bash "$lab"
bash moodle/install-into-lab.sh
# Moodle's own uninstall leaves nothing of the plugin behind (then it is put back).
bash moodle/install-into-lab.sh --check-uninstall
# The tests find the site and its tokens here; a test that cannot reach it fails.
export MOODLE_URL="${MOODLE_URL:-http://127.0.0.1:8080}" MOODLE_LAB_DIR="${MOODLE_LAB_DIR:-/opt/moodle-lab}"
exec cargo test --locked "$@"
