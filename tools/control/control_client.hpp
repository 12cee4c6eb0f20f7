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

// For a streaming command (vlod's capture): sends `request`, reads the one-line reply into
// `reply` byte by byte (so nothing of the stream is consumed) and returns the connected socket
// the stream arrives on, for the caller to read and close. -1 with `error` when the socket
// cannot be reached or the reply is not a JSON object; a reply {"ok": false} comes with its fd.
int open_stream(const std::string& path, const nlohmann::ordered_json& request, nlohmann::ordered_json& reply,
                std::string& error);

}  // namespace vlo::control
