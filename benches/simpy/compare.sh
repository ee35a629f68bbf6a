#!/usr/bin/env bash
# ecxsim against SimPy on the same model, as whole processes on one thread: the 2-server
# exponential cluster of scenarios/exponential.toml over 10 simulated years per replication,
# the same number of replications for both, each writing its per-replication CSV.
#
#   benches/simpy/compare.sh [REPLICATIONS]      (default 10000)
#
# Prints each program's availability (with the exact CTMC's beside them: the models agree, so
# the comparison is fair), its wall time per replication, and the ratio. ECXSIM names the
# binary to time (default: target/release/ecxsim, built if missing); PYTHON the interpreter
# with SimPy installed (default: python3).
set -euo pipefail

replications="${1:-10000}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
ecxsim="${ECXSIM:-$root/target/release/ecxsim}"
python="${PYTHON:-python3}"

if ! "$python" -c "import simpy" 2>/dev/null; then
    echo "SimPy is not installed for $python. Install it with" >&2
    echo "    $python -m pip install simpy" >&2
    echo "(or in a virtual environment: python3 -m venv /tmp/simpy && /tmp/simpy/bin/pip install simpy," >&2
    echo " then PYTHON=/tmp/simpy/bin/python $0)" >&2
    exit 2
fi
if [[ ! -x "$ecxsim" ]]; then
    (cd "$root" && cargo build --release --quiet)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The same scenario with a horizon of 10 years.
sed 's/^horizon = .*/horizon = "10y"/' "$root/scenarios/exponential.toml" >"$work/exp10.toml"

# Wall time of a command in seconds.
timed() {
    local start end
    start=$(date +%s.%N)
    "$@" >"$work/last.txt"
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

per_replication() { echo "scale=2; $1 * 1000000 / $replications" | bc -l; }

ecx_seconds=$(timed "$ecxsim" run "$work/exp10.toml" --replications "$replications" --threads 1 --out "$work/ecxsim")
ecx_availability=$(grep -m1 'availability' "$work/last.txt" | sed 's/^ *availability (95% CI) *//')
py_seconds=$(timed "$python" "$root/benches/simpy/standalone.py" "$work/exp10.toml" --replications "$replications" --out "$work/simpy")
py_availability=$(grep -m1 '^availability' "$work/last.txt" | sed 's/^availability //')
exact=$("$ecxsim" analytic "$work/exp10.toml" | grep -m1 'availability' | awk '{print $2}')

ecx_us=$(per_replication "$ecx_seconds")
py_us=$(per_replication "$py_seconds")
echo "model: scenarios/exponential.toml, 10 years per replication, $replications replications, one thread"
echo "exact (CTMC) availability   $exact"
printf '%-8s availability %s\n' ecxsim "$ecx_availability" SimPy "$py_availability"
printf '%-8s %10.2f us/replication (%.2f s)\n' ecxsim "$ecx_us" "$ecx_seconds" SimPy "$py_us" "$py_seconds"
echo "ratio    $(echo "scale=1; $py_seconds / $ecx_seconds" | bc -l)x"
