#include "netif/designs.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <mutex>
#include <utility>

namespace vlo {

namespace {

template <class Factory>
struct Table {
    std::vector<std::pair<std::string, Factory>> entries;
    void put(std::string name, Factory f) {
        for (auto& [n, g] : entries)
            if (n == name) {
                g = std::move(f);
                return;
            }
        entries.emplace_back(std::move(name), std::move(f));
    }
    Factory get(std::string_view name) const {
        for (const auto& [n, f] : entries)
            if (n == name) return f;
        return nullptr;
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : entries) out.push_back(e.first);
        return out;
    }
};

struct Registry {
    std::recursive_mutex mu;  // the built-ins register through the public calls
    Table<QueueFactory> queues;
    Table<WorkerFactory> workers;
    bool builtins = false;
};

Registry& registry() {
    static Registry r;
    std::lock_guard lock(r.mu);
    if (!r.builtins) {
        r.builtins = true;
        register_builtin_queues();
        register_builtin_workers();
    }
    return r;
}

}  // namespace

void register_queue_design(std::string name, QueueFactory make) {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.queues.put(std::move(name), std::move(make));
}

void register_worker_design(std::string name, WorkerFactory make) {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.workers.put(std::move(name), std::move(make));
}

QueueFactory find_queue_design(std::string_view name) {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    return r.queues.get(name);
}

WorkerFactory find_worker_design(std::string_view name) {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    return r.workers.get(name);
}

std::vector<std::string> queue_design_names() {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    return r.queues.names();
}

std::vector<std::string> worker_design_names() {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    return r.workers.names();
}

bool load_design_plugin(const std::string& path, PluginDesigns& added, std::string& error) {
    const std::vector<std::string> q0 = queue_design_names(), w0 = worker_design_names();
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);  // kept loaded for good
    if (!handle) {
        error = ::dlerror();
        return false;
    }
    auto* reg = reinterpret_cast<void (*)()>(::dlsym(handle, "vlo_plugin_register"));
    if (!reg) {
        error = path + ": no vlo_plugin_register()";
        return false;
    }
    reg();
    for (const std::string& n : queue_design_names())
        if (std::find(q0.begin(), q0.end(), n) == q0.end()) added.queues.push_back(n);
    for (const std::string& n : worker_design_names())
        if (std::find(w0.begin(), w0.end(), n) == w0.end()) added.workers.push_back(n);
    if (added.queues.empty() && added.workers.empty()) {
        error = path + ": registered no new design";
        return false;
    }
    return true;
}

}  // namespace vlo
