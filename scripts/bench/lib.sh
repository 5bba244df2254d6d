# Shared by the benchmark scripts: release binaries, and a simulator and gateway on loopback ports that stop
# when the calling script exits. Source it from the repository root.

command -v wrk >/dev/null || { echo "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product sens-simulator >/dev/null 2>&1
swift build -c release --product sens-gateway >/dev/null 2>&1
bin=$(swift build -c release --show-bin-path 2>/dev/null)

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# start_simulator PORT [sens-simulator flags...]
start_simulator() {
    local port=$1; shift
    "$bin/sens-simulator" --http-port "$port" --log-level error "$@" &
    pids+=($!)
}

# start_gateway PORT SIMULATOR_PORT: the gateway with the simulator's default keys; sets $gateway to its pid.
start_gateway() {
    SENS_ACCESS_KEY=ACCESS_KEY_ID SENS_SECRET_KEY=SECRET_KEY SENS_SERVICE_ID=ncp:sms:kr:123456789012:sens \
    SENS_BASE_URL="http://127.0.0.1:$2" LOG_LEVEL=error "$bin/sens-gateway" --http-port "$1" &
    gateway=$!
    pids+=($gateway)
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.1; done
    echo "the gateway did not start" >&2
    return 1
}
