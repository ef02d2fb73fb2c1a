#!/bin/bash
# before/after of the record change through the real Asterisk, interleaved
for i in 1 2 3; do
  for side in before after; do
    if [ $side = before ]; then dir=/tmp/before; else dir=/work/main; fi
    (cd $dir && /work/main/.venv/bin/python -m bench.real_asterisk --rounds 1 --profile-calls 0 --out /tmp/real_${side}_$i.json 2>&1 | grep "ratio" | sed "s/^/$side $i: /")
  done
done
