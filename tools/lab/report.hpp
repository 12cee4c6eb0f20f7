// What the lab writes: one JSON record per cell ({"results": [...]}), and a Markdown table with
// each vlo cell's ratio to the kernel on the same workload.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tools/lab/runner.hpp"

namespace vlo::lab {

nlohmann::json report_json(const LabReport& report);
std::string report_markdown(const LabReport& report);

}  // namespace vlo::lab
