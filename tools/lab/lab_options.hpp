// vlo-lab's command line:
//   vlo-lab [--quick] [--repeat N] [--workload W]... [--queue Q]... [--worker K]... [--cpus N]...
//           [--time SECONDS] [--json FILE] [--plots DIR] [--plugin PATH.so]...
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/lab/cell.hpp"

namespace vlo::lab {

struct LabOptions {
    bool quick = false;
    int repeat = 1;
    std::vector<Workload> workloads;  // empty: all
    std::vector<QueueKind> queues;    // empty: list, ring
    std::vector<WorkerKind>
        workers;                    // empty: softirq, ksoftirqd, busypoll (+ inline for icmp_echo)
    std::vector<unsigned> cpus;     // empty: 1, 2
    std::optional<double> seconds;  // per cell; default 0.25 with --quick, else 2
    std::string json_path;
    std::string plots_dir;
    // --plugin PATH.so (repeatable): loaded by parse_lab_options, their designs run beside the
    // built-ins.
    std::vector<std::string> plugins;
    std::vector<std::string> plugin_queues, plugin_workers;

    double cell_seconds() const { return seconds ? *seconds : quick ? 0.25 : 2.0; }
};

struct LabParse {
    std::optional<LabOptions> options;  // set when the lab should run
    int exit_code = 0;                  // otherwise exit with this,
    std::string message;                // after printing this one-line reason (if any)
    bool show_usage = false;            // and the usage
};

LabParse parse_lab_options(int argc, char** argv);
const char* lab_usage();

}  // namespace vlo::lab
