#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter for the Rasa environment (Rasa 3.6 needs <= 3.10).
# Order: python3.10 on PATH, then pyenv, then uv. Exit 1 with instructions when none is found.
set -u
is310() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }

if command -v python3.10 >/dev/null 2>&1; then
  # A pyenv shim exists even when 3.10 is not the selected version; ask it for the real path.
  candidate=$(python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
  if [ -n "$candidate" ] && is310 "$candidate"; then echo "$candidate"; exit 0; fi
fi
if command -v pyenv >/dev/null 2>&1; then
  prefix=$(pyenv prefix 3.10 2>/dev/null | head -n 1 || true)
  if [ -n "$prefix" ] && is310 "$prefix/bin/python3.10"; then echo "$prefix/bin/python3.10"; exit 0; fi
  # pyenv may know a full version such as 3.10.13 without the 3.10 alias.
  full=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10\.[0-9]+$' | sort -V | tail -n 1 || true)
  if [ -n "$full" ] && is310 "$(pyenv root)/versions/$full/bin/python3.10"; then
    echo "$(pyenv root)/versions/$full/bin/python3.10"; exit 0
  fi
fi
if command -v uv >/dev/null 2>&1; then
  candidate=$(uv python find 3.10 2>/dev/null || true)
  if [ -n "$candidate" ] && is310 "$candidate"; then echo "$candidate"; exit 0; fi
fi
cat >&2 <<'MSG'
careerbot: Python 3.10 was not found, and Rasa Open Source 3.6 runs only on Python 3.8-3.10.
Install it with ONE of:
  pyenv install 3.10.13          (then re-run make)
  uv python install 3.10
  apt-get install python3.10 python3.10-venv   (where your distribution has it)
MSG
exit 1
