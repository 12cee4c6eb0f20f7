// vlo-lab: every queue/worker design on the same workloads, the kernel's lo beside it.
// Stdout: a Markdown table; stderr: progress; --json and --plots for the figures.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tools/lab/lab_options.hpp"
#include "tools/lab/plots.hpp"
#include "tools/lab/report.hpp"
#include "tools/lab/runner.hpp"

using namespace vlo::lab;

int main(int argc, char** argv) {
    const LabParse parsed = parse_lab_options(argc, argv);
    if (!parsed.options) {
        if (!parsed.message.empty()) std::fprintf(stderr, "vlo-lab: %s\n", parsed.message.c_str());
        if (parsed.show_usage) std::fputs(lab_usage(), parsed.exit_code ? stderr : stdout);
        return parsed.exit_code;
    }
    const LabOptions& o = *parsed.options;
    const bool tty = isatty(STDERR_FILENO);
    const LabReport report =
        run_lab(o, [&](std::size_t i, std::size_t total, const CellSpec& s, int rep) {
            std::fprintf(stderr, "%svlo-lab: [%zu/%zu, %zu left] %s %s (repeat %d/%d)%s",
                         tty ? "\r\033[K" : "", i + 1, total, total - i - 1,
                         std::string(workload_name(s.workload)).c_str(), cell_label(s).c_str(),
                         rep + 1, o.repeat, tty ? "" : "\n");
            std::fflush(stderr);
        });
    if (tty) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "vlo-lab: %zu cells in %.1f s\n", report.cells.size(),
                 report.wall_seconds);

    int rc = 0;
    for (const CellSummary& c : report.cells)
        if (!c.ok()) {
            std::fprintf(stderr, "vlo-lab: %s %s failed: %s\n",
                         std::string(workload_name(c.median.spec.workload)).c_str(),
                         cell_label(c.median.spec).c_str(), c.last_error.c_str());
            rc = 1;
        } else if (c.failures) {
            std::fprintf(stderr, "vlo-lab: %s %s: %d of %d repeats failed (%s)\n",
                         std::string(workload_name(c.median.spec.workload)).c_str(),
                         cell_label(c.median.spec).c_str(), c.failures, c.repeats,
                         c.last_error.c_str());
        }
    std::fputs(report_markdown(report).c_str(), stdout);
    std::fflush(stdout);

    std::string json_path = o.json_path;
    bool temporary_json = false;
    if (json_path.empty() && !o.plots_dir.empty()) {  // the plots read the JSON
        json_path = (std::filesystem::temp_directory_path() /
                     ("vlo-lab-" + std::to_string(getpid()) + ".json"))
                        .string();
        temporary_json = true;
    }
    if (!json_path.empty()) {
        std::ofstream out(json_path);
        out << report_json(report).dump(1) << "\n";
        if (!out) {
            std::fprintf(stderr, "vlo-lab: cannot write %s\n", json_path.c_str());
            return 1;
        }
    }
    if (!o.plots_dir.empty()) {
        const std::string err = draw_plots(json_path, o.plots_dir);
        if (temporary_json) std::filesystem::remove(json_path);
        if (!err.empty()) {
            std::fprintf(stderr, "vlo-lab: plots: %s\n", err.c_str());
            return 1;
        }
    }
    return rc;
}
