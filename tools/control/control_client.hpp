// The client side of vlod's control socket: one JSON request per line, one JSON reply per line.
// A reply is {"ok": true, ...} or {"ok": false, "error": "..."}.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace vlo::control {

// Sends `request` to the control socket at `path` and returns the reply, or nothing with
// `error` saying why (no such socket, refused, a reply that is not JSON...).
std::optional<nlohmann::ordered_json> request(const std::string& path, const nlohmann::ordered_json& request, std::string& error);

}  // namespace vlo::control
