# scripts/lib.sh - shared by scripts/run and scripts/test: installs the
# Debian packages raftlog needs, once, and configures/builds a CMake tree.
# Sourced, not run.

# Everything the build, the tests and the Python client need. The README
# lists the same packages.
RL_PACKAGES="cmake pkg-config libzmq3-dev libczmq-dev libmsgpack-dev \
libjansson-dev libcmocka-dev libmicrohttpd-dev libsystemd-dev python3-zmq \
python3-msgpack clang libclang-rt-14-dev"

rl_say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# Installs whichever of RL_PACKAGES is missing (apt-get, with sudo when not
# root). Quiet and quick when everything is there.
rl_ensure_packages() {
    local missing=() pkg
    for pkg in $RL_PACKAGES; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || {
            rl_say "missing packages (${missing[*]}) and no sudo: install them as root"
            return 1
        }
        sudo="sudo"
    fi
    rl_say "installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# rl_build DIR [cmake options...]: configure (about a second when nothing
# changed; always, so that new source directories are picked up) and build
# incrementally.
rl_build() {
    local dir=$1
    shift
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j "$(nproc)"
}
