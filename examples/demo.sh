#!/usr/bin/env bash
# Runs the main job on the committed example feed against the embedded store:
# a fresh data folder in ./demo-data, the example files (users, courses, meta links, cohorts and
# their course bindings, enrolments, and a folder of user pictures) dropped
# into its inbox, one run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/moosync"
data=demo-data
rm -rf "$data"
"$bin" --data "$data" init >/dev/null
cp examples/userimport.csv examples/uploadcourses.csv examples/metacourses.csv examples/enrols.csv \
  examples/cohorts.csv examples/cohortscourses.csv "$data/inbox/"
cp -r examples/userpictures_demo "$data/inbox/"
set +e
"$bin" --data "$data" run
code=$?
set -e
echo
echo "exit code $code (1 = some rows failed: the examples have bad rows on purpose)"
echo
echo "== the reports, $data/Reports/:"
for f in "$data"/Reports/*.txt; do cat "$f"; echo; done
echo
echo "== the trybacks, $data/Trybacks/ (fix these rows and drop the files back into $data/inbox/):"
for f in "$data"/Trybacks/*; do echo "-- $f"; cat "$f"; done
echo
echo "== the input, archived in $data/Archives/:"
ls "$data/Archives"
echo
echo "== moosync status:"
"$bin" --data "$data" status
