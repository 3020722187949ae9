#!/usr/bin/env bash
# Issue 13's heavy training in ONE call of a lent GPU machine (see docs/training.md, "On a lent GPU").
#
# Here, before the call (CPU machine, repository root):
#   bash scripts/device_selftrain.sh prepare     # data into .device-data/, wheels into .whl/ (both git-excluded)
# The call (device tool):
#   run(command="bash scripts/device_selftrain.sh run", carry=[".device-data", ".whl"], timeout_s=570)
# Smoke test of the same steps on this CPU (tiny epochs):
#   SMOKE=1 PYTHON=.venv/bin/python OUT=/tmp/smoke bash scripts/device_selftrain.sh run
#
# Steps, each leaving its results in $OUT as soon as it ends (the call may be cut short):
#   1. five teacher folds of configs/cv/all-e300.yaml at once;  2. their out-of-fold scores;
#   3. one Noisy-Student round out-of-fold (fold K's teacher labels the unlabeled slices for
#      fold K's student);  4. the students' out-of-fold scores;  5. the final student: all five
#      teachers label the unlabeled slices, a student trains on all 50 labelled slices.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=.device-data

prepare() {
  mkdir -p "$DATA" .whl
  for x in /.device-data/ /.whl/; do grep -qxF "$x" .git/info/exclude || echo "$x" >> .git/info/exclude; done
  cp -r ../shared/data/covid-semiseg/train "$DATA/"
  mkdir -p "$DATA/unlabeled" && cp -r ../shared/data/covid-semiseg/unlabeled/images "$DATA/unlabeled/"
  # pure-Python packages the device image lacks (it has torch, numpy, scipy, pillow, yaml, rich, safetensors)
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 -d .whl monai==1.6.1 nibabel==5.4.2 pydicom==3.0.2
  du -sh "$DATA" .whl
}

run() {
  local PY=${PYTHON:-python3}
  OUT=${OUT:?set OUT}
  if ls .whl/*.whl >/dev/null 2>&1 && ! $PY -c "import monai" 2>/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
  fi
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
  local dev=cuda par=5 threads=3 train=$DATA/train unl=$DATA/unlabeled
  local teacher_cfg=configs/cv/all-e300.yaml student_cfg=configs/cv/student-all-e300.yaml runs=runs/device
  if [ -n "${SMOKE:-}" ]; then  # same steps, one tiny epoch each, on the CPU
    dev=cpu par=1 threads=1 runs=runs/device-smoke
    [ -d "$train" ] || train=../shared/data/covid-semiseg/train
    [ -d "$unl" ] || unl=../shared/data/covid-semiseg/unlabeled
    rm -rf $runs && mkdir -p $runs/unl/images
    for f in $(ls "$unl/images" | head -n 24); do ln -s "$(realpath "$unl/images/$f")" $runs/unl/images/; done
    unl=$runs/unl
    for c in teacher student; do
      eval "src=\$${c}_cfg"
      sed -e 's/^epochs: .*/epochs: 1/; s/^steps_per_epoch: .*/steps_per_epoch: 1/; s/^pseudo_epochs: .*/pseudo_epochs: 1/' \
        -e 's/^input_size: .*/input_size: 64/; s/^val_every: .*/val_every: 1/' "$src" > $runs/$c.yaml
      eval "${c}_cfg=$runs/$c.yaml"
    done
  fi
  mkdir -p "$OUT" "$runs"
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  local t0=$SECONDS
  $PY benchmarks/cv.py train $teacher_cfg --out $runs/teacher --data "$train" \
    --parallel $par --threads $threads -- --device $dev --num-workers 2 2>&1 | tee "$OUT/teacher.log"
  echo "teachers: $((SECONDS - t0)) s"
  $PY benchmarks/cv.py oof $runs/teacher --train "$train" --save "$OUT/oof-teacher.json"
  $PY benchmarks/cv.py oof $runs/teacher --train "$train" --tta --save "$OUT/oof-teacher-tta.json"
  $PY benchmarks/cv.py selftrain $runs/teacher $student_cfg --out $runs/student \
    --unlabeled "$unl" --data "$train" --device $dev --parallel $par --threads $threads \
    -- --device $dev --num-workers 2 2>&1 | tee "$OUT/student.log"
  echo "students: $((SECONDS - t0)) s"
  $PY benchmarks/cv.py oof $runs/student --train "$train" --save "$OUT/oof-student.json"
  $PY -m covidseg pseudolabel --model $runs/teacher/fold*/model --data "$unl" --out $runs/final-labels --device $dev
  $PY -m covidseg train --config $student_cfg --data "$train" --val-count 0 \
    --unlabeled $runs/final-labels --pseudo-kind teacher --pseudo-folder teacher --out $runs/final \
    --device $dev --num-workers 2 --threads $threads --quiet
  # float16 copies (5 MB each) packed under the tool's limits (8 files of <= 16 MiB come back)
  local ship=$runs/ship
  for r in final teacher/fold0 teacher/fold1 teacher/fold2 teacher/fold3 teacher/fold4; do
    $PY scripts/ship_model.py $runs/$r $ship/${r//\//-} --config $([ $r = final ] && echo $student_cfg || echo $teacher_cfg)
  done
  tar -C $ship -czf "$OUT/final.tgz" final
  tar -C $ship -czf "$OUT/teachers-a.tgz" teacher-fold0 teacher-fold1 teacher-fold2
  tar -C $ship -czf "$OUT/teachers-b.tgz" teacher-fold3 teacher-fold4
  ls -la "$OUT"
  echo "all: $((SECONDS - t0)) s"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
