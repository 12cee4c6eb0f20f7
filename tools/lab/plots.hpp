// --plots: the PNGs are drawn by tools/lab/plot.py (python3-matplotlib) from the lab's JSON,
// run as a child process.
#pragma once

#include <string>

namespace vlo::lab {

// Runs plot.py over json_path into dir (created if missing). Empty on success, else why not.
std::string draw_plots(const std::string& json_path, const std::string& dir);

}  // namespace vlo::lab
