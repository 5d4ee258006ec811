#!/usr/bin/env bash
# Runs the main job on the committed example feed against the embedded store:
# a fresh data folder in ./demo-data, examples/userimport.csv dropped into its inbox, one run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/moosync
data=demo-data
rm -rf "$data"
"$bin" --data "$data" init >/dev/null
cp examples/userimport.csv "$data/inbox/"
set +e
"$bin" --data "$data" run
code=$?
set -e
echo
echo "exit code $code (1 = some rows failed: the example has two bad rows on purpose)"
echo
echo "== the report, $data/Reports/:"
cat "$data"/Reports/*.txt
echo
echo "== the tryback, $data/Trybacks/ (fix these rows and drop the file back into $data/inbox/):"
cat "$data"/Trybacks/*.csv
echo
echo "== the input, archived in $data/Archives/:"
ls "$data/Archives"
echo
echo "== moosync status:"
"$bin" --data "$data" status
