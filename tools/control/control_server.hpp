// The server side of the control socket: a Unix stream socket, owner-only (mode 0600), that
// takes one JSON request per line, {"cmd": NAME, ...}, and answers each with one JSON line from
// the handler registered for NAME. Everything runs on the given io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

namespace vlo::control {

using Json = nlohmann::ordered_json;

class ControlServer {
public:
    // Returns the reply's fields; "ok": true is added. An exception's text becomes the error.
    using Handler = std::function<Json(const Json& request)>;

    explicit ControlServer(boost::asio::io_context& io) : acceptor_(io) {}
    ~ControlServer() { close(); }

    // Binds `path` with mode 0600 and starts accepting. A stale socket left by a dead daemon is
    // replaced; one a live daemon answers on is not. False with `error` on failure.
    bool listen(const std::string& path, std::string& error);
    void on(const std::string& cmd, Handler handler) { handlers_[cmd] = std::move(handler); }
    // Stops accepting and removes the socket file.
    void close();

    // The reply to one request line (what a session sends back, without the newline).
    std::string answer(const std::string& line) const;

private:
    void accept();

    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::map<std::string, Handler> handlers_;
    std::string path_;
};

}  // namespace vlo::control
