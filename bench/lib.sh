# Shell functions the bench scripts share; sourced (`. bench/lib.sh`), not run.

# free_port: prints a loopback TCP port (20000–59999) that nothing listens on, trying up to 50.
# Seeded by the subshell's own pid ($BASHPID), so that a script that sets RANDOM for its own
# draws still gets a fresh port, and two calls in one script get different ones.
free_port() {
  local port=0
  RANDOM=$BASHPID
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN || break
  done
  echo "$port"
}
