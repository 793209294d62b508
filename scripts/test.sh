#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then runs pytest.
# As root it installs the Debian packages the tests need; otherwise it says how.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: chromium (browser tests), librtmp1 (an RTMP client as OBS has).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'librtmp\.so' || missing+=(librtmp1)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (for the tests)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

python -m pip install -q -e '.[test]'

set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" = "5" ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
