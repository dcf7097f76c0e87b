#!/bin/sh
# A task run the way a Flyte backend runs it: inputs.pb in, outputs.pb out, all on local storage.
set -eu
work=$(mktemp -d)
python - "$work/inputs.pb" <<'PY'
import sys
from flytelite.types import encode_map
literal_map = encode_map({"a": 2, "b": 40}, {"a": int, "b": int}, what="input")
open(sys.argv[1], "wb").write(literal_map.SerializeToString())
PY
cd "$(dirname "$0")"
echo "+ flytelite execute --inputs $work/inputs.pb --output-prefix $work/out --raw-output-data-prefix $work/raw -- task-module arithmetic task-name add"
flytelite execute --inputs "$work/inputs.pb" --output-prefix "$work/out" --raw-output-data-prefix "$work/raw" \
    -- task-module arithmetic task-name add
echo "$work/out now holds: $(ls "$work/out")"
python -c "import sys; from flyteidl.core.literals_pb2 import LiteralMap; print(LiteralMap.FromString(open(sys.argv[1], 'rb').read()))" "$work/out/outputs.pb"
rm -rf "$work"
