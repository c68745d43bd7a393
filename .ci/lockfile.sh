# Shared by .ci/update-lock and .ci/lowest: the one uv and pip version, and how the lock is made.
UV_VERSION=0.13.9
PIP_VERSION=26.3
install_uv() {  # install_uv DIR -> prints the path of a uv binary installed under DIR
  python3 -m venv "$1/uv-venv"
  "$1/uv-venv/bin/python" -m pip install --quiet "uv==$UV_VERSION"
  echo "$1/uv-venv/bin/uv"
}
compile_lock() {  # compile_lock UV OUT [extra uv args]
  local uv=$1 out=$2
  shift 2
  "$uv" pip compile pyproject.toml --extra test --extra bench --universal \
    --python-version 3.10 --no-header --quiet -o "$out" "$@"
}
