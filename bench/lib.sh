# Shell functions the bench scripts share; sourced (`. bench/lib.sh`), not run.

# free_port: prints a loopback TCP port (20000–59999) that nothing listens on, trying up to 50.
free_port() {
  local port=0
  RANDOM=$$
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN || break
  done
  echo "$port"
}
