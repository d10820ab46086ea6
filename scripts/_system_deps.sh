# Sourced by run_tests.sh: system programs the tests need, installed with apt-get when missing.
# - PostgreSQL server binaries (initdb, postgres): the CRM-database tests start a real server.
have_postgres() {
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
apt_install() {
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "!! missing system package(s): $*. Install them (Debian/Ubuntu: sudo apt-get install $*) and re-run." >&2
    exit 1
  fi
  echo ">> installing system package(s): $*"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
have_postgres || apt_install postgresql
# - Chromium and a CJK font: the scorecard is checked in a headless browser, Chinese text included.
missing=()
command -v chromium >/dev/null 2>&1 || [ -n "${CSAT_CHROMIUM:-}" ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
