// The server side of the control socket: a Unix stream socket, owner-only (mode 0600), that
// takes one JSON request per line, {"cmd": NAME, ...}, and answers each with one JSON line from
// the handler registered for NAME. Everything runs on the given io_context's thread.
// A streaming command (on_stream) answers with its line, then takes the connection over to send
// a stream of its own (a capture's pcap bytes) until it is done or the client goes away.
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
    // A handler may also answer {"ok": false, "error": ..., more fields} itself.
    using Handler = std::function<Json(const Json& request)>;
    // What a streaming command answers: the reply's fields as a Handler's, and what takes the
    // connection once the reply line is out: a blocking socket descriptor it then owns.
    struct Stream {
        Json reply;
        std::function<void(int fd)> take;
    };
    using StreamHandler = std::function<Stream(const Json& request)>;
    // One request's outcome: the reply line, and `take` for a stream that follows it.
    struct Answer {
        std::string line;
        std::function<void(int fd)> take;  // empty: the connection stays a request-reply one
    };

    explicit ControlServer(boost::asio::io_context& io) : acceptor_(io) {}
    ~ControlServer() { close(); }

    // Binds `path` with mode 0600 and starts accepting. A stale socket left by a dead daemon is
    // replaced; one a live daemon answers on is not. False with `error` on failure.
    bool listen(const std::string& path, std::string& error);
    void on(const std::string& cmd, Handler handler);
    // A handler that throws or answers "ok": false keeps the connection as it is.
    void on_stream(const std::string& cmd, StreamHandler handler);
    // Stops accepting and removes the socket file.
    void close();

    // The reply to one request line (what a session sends back, without the newline).
    std::string answer(const std::string& line) const { return dispatch(line).line; }
    // The same with the stream that follows, if the command is a streaming one and succeeded.
    Answer dispatch(const std::string& line) const;

private:
    void accept();

    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::map<std::string, StreamHandler> handlers_;  // a plain Handler's Stream has no `take`
    std::string path_;
};

}  // namespace vlo::control
