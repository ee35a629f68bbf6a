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

# Runs a command, keeping its output in last.txt; prints its wall and CPU (user + system)
# seconds. CPU time is the steadier of the two on a machine shared with other work.
timed() {
    local TIMEFORMAT='%3R %3U %3S'
    { time "$@" >"$work/last.txt" 2>"$work/stderr.txt"; } 2>"$work/time.txt"
    awk '{printf "%s %.3f\n", $1, $2 + $3}' "$work/time.txt"
}

per_replication() { awk -v s="$1" -v n="$replications" 'BEGIN { printf "%.2f", s * 1e6 / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "n/a" }'; }

read -r ecx_wall ecx_cpu < <(timed "$ecxsim" run "$work/exp10.toml" --replications "$replications" --threads 1 --out "$work/ecxsim")
ecx_availability=$(grep -m1 'availability' "$work/last.txt" | sed 's/^ *availability (95% CI) *//')
read -r py_wall py_cpu < <(timed "$python" "$root/benches/simpy/standalone.py" "$work/exp10.toml" --replications "$replications" --out "$work/simpy")
py_availability=$(grep -m1 '^availability' "$work/last.txt" | sed 's/^availability //')
exact=$("$ecxsim" analytic "$work/exp10.toml" | grep -m1 'availability' | awk '{print $2}')

echo "model: scenarios/exponential.toml, 10 years per replication, $replications replications, one thread"
echo "exact (CTMC) availability   $exact"
printf '%-8s availability %s\n' ecxsim "$ecx_availability" SimPy "$py_availability"
echo "per replication, whole process:"
printf '%-8s %10.2f us wall %10.2f us CPU\n' \
    ecxsim "$(per_replication "$ecx_wall")" "$(per_replication "$ecx_cpu")" \
    SimPy "$(per_replication "$py_wall")" "$(per_replication "$py_cpu")"
printf 'ratio    %10sx wall %10sx CPU\n' "$(ratio "$py_wall" "$ecx_wall")" "$(ratio "$py_cpu" "$ecx_cpu")"
