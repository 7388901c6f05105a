# shellcheck shell=bash
# Shared by up.sh and down.sh (sourced; needs $STATE set).

# pid_of <component>: the recorded pid if that process is still alive and is
# still the component we started (argv[0] ends in /<component>).
pid_of() {
  local f="$STATE/pids/$1.pid" pid argv0
  [[ -r $f ]] || return 1
  pid="$(<"$f")"
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # argv[0]: /proc/<pid>/cmdline up to the first NUL.
  IFS= read -r -d '' argv0 2>/dev/null <"/proc/$pid/cmdline" || [[ -n ${argv0:-} ]] || return 1
  [[ ${argv0##*/} == "$1" ]] || return 1
  echo "$pid"
}
