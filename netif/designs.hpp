// The registry of queue and worker designs: the built-ins (list, ring; softirq, ksoftirqd,
// busypoll, inline) are registered here like any other, and a design from outside (a plugin
// vlo-lab loads with --plugin) registers itself the same way. A stack picks its designs by name
// (NetCoreConfig::queue_design / worker_design), or by the built-in enums.
//
// A plugin is a shared library exporting
//   extern "C" void vlo_plugin_register();
// which calls register_queue_design / register_worker_design. It is built against the installed
// headers (find_package(vlo), target vlo::plugin) and takes vlo's symbols from the program that
// loads it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netif/backlog_queue.hpp"
#include "netif/worker.hpp"

namespace vlo {

// `capacity_hint`: netdev_max_backlog, for designs with a fixed size.
using QueueFactory = std::function<std::unique_ptr<BacklogQueue>(std::uint32_t capacity_hint)>;
using WorkerFactory = std::function<std::unique_ptr<WorkerDesign>()>;

// A later registration under a taken name replaces the earlier one.
void register_queue_design(std::string name, QueueFactory make);
void register_worker_design(std::string name, WorkerFactory make);
// Null when no design has that name.
QueueFactory find_queue_design(std::string_view name);
WorkerFactory find_worker_design(std::string_view name);
// In order of registration: the built-ins first.
std::vector<std::string> queue_design_names();
std::vector<std::string> worker_design_names();

// Loads a plugin (dlopen, then its vlo_plugin_register). The names it registered, or "" and
// the reason in `error`.
struct PluginDesigns {
    std::vector<std::string> queues, workers;
};
bool load_design_plugin(const std::string& path, PluginDesigns& added, std::string& error);

// The built-ins' registrations (backlog_queue.cpp, worker.cpp), made once by the registry.
void register_builtin_queues();
void register_builtin_workers();

}  // namespace vlo

// What a plugin exports.
extern "C" void vlo_plugin_register();
