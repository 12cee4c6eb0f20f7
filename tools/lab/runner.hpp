// The lab's plan and its run: which cells (workload x design, the kernel beside each workload),
// each repeated, the median taken, a progress line on stderr while it runs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tools/lab/cell.hpp"
#include "tools/lab/lab_options.hpp"

namespace vlo::lab {

// A cell over its repeats: the run with the median ops/s stands for it.
struct CellSummary {
    CellResult median;
    std::vector<double> ops_per_s;  // every successful repeat
    int repeats = 0;
    int failures = 0;
    std::string last_error;
    std::int64_t worst_unaccounted = 0;  // overload: the largest |sent - delivered - dropped|

    bool ok() const { return !ops_per_s.empty(); }
    double min_ops() const;
    double max_ops() const;
    double spread_pct() const;  // (max - min) / median
};

struct LabReport {
    LabOptions options;
    std::vector<CellSummary> cells;
    double wall_seconds = 0;
};

// The cells, in run order: per workload the kernel first, then every design.
std::vector<CellSpec> plan_cells(const LabOptions& o);

// Called before each run: index (0-based) of the run, total runs, the spec, the repeat (0-based).
using Progress = std::function<void(std::size_t, std::size_t, const CellSpec&, int)>;

LabReport run_lab(const LabOptions& o, const Progress& progress = {});

// "list/softirq cpus=1" or "kernel".
std::string cell_label(const CellSpec& s);

}  // namespace vlo::lab
