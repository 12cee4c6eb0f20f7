#!/usr/bin/env bash
# cmake --install, then the example design built as a project of its own against the installed
# vlo only (find_package(vlo)), then loaded by the installed vlo-lab.
#   install_example.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
ls "$tmp"/prefix/lib*/cmake/vlo/vloConfig.cmake
test -f "$tmp/prefix/include/vlo/netif/designs.hpp"
cmake -S "$src/examples/llist_queue" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >"$tmp/ex.log"
cmake --build "$tmp/ex" -j2 >>"$tmp/ex.log"
plugin=$(find "$tmp/ex" -name '*.so' -type f | head -1)
test -n "$plugin"
bash "$(dirname "$0")/plugin_lab.sh" "$tmp/prefix/bin/vlo-lab" "$plugin" llist
