// The workloads, one function per family. Each fills a CellResult for its spec.
#pragma once

#include "stack/config.hpp"
#include "tools/lab/cell.hpp"

namespace vlo::lab {

// icmp_echo, udp_rr_1B, tcp_rr_*, tcp_crr, tcp_bulk_* over a vlo stack of spec.design.
CellResult run_vlo_cell(const CellSpec& spec);
// The same workloads over the kernel's lo (127.0.0.1), in this process.
CellResult run_kernel_cell(const CellSpec& spec);
// overload: a burst sender against one design's backlog (vlo only).
CellResult run_overload_cell(const CellSpec& spec);
// listeners: one listener per 127/8 address on port 80 (vlo only).
CellResult run_listeners_cell(const CellSpec& spec);

// The stack configuration of a design.
StackConfig design_config(const Design& d);

}  // namespace vlo::lab
