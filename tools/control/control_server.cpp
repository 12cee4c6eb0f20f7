#include "tools/control/control_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <memory>

namespace vlo::control {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

// One client: read a line, answer it, until the client closes.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(Local::socket sock, const ControlServer& server) : sock_(std::move(sock)), server_(server) {}
    void read() {
        asio::async_read_until(sock_, asio::dynamic_buffer(in_, kMaxRequest), '\n',
                               [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                   if (!ec) self->reply(n);
                               });
    }

private:
    static constexpr std::size_t kMaxRequest = 1 << 20;

    void reply(std::size_t n) {
        ControlServer::Answer a = server_.dispatch(in_.substr(0, n - 1));
        out_ = std::move(a.line) + "\n";
        in_.erase(0, n);
        asio::async_write(sock_, asio::buffer(out_),
                          [self = shared_from_this(), take = std::move(a.take)](boost::system::error_code ec, std::size_t) {
                              if (ec) return;
                              if (take) self->hand_over(take);
                              else self->read();
                          });
    }

    // The stream's writer may block (on its own thread) where this io_context must not: the
    // descriptor leaves asio and goes back to blocking mode.
    void hand_over(const std::function<void(int)>& take) {
        boost::system::error_code ec;
        const int fd = sock_.release(ec);
        if (ec) return;
        if (const int flags = ::fcntl(fd, F_GETFL); flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        take(fd);
    }

    Local::socket sock_;
    const ControlServer& server_;
    std::string in_, out_;
};

}  // namespace

bool ControlServer::listen(const std::string& path, std::string& error) {
    if (access(path.c_str(), F_OK) == 0) {
        struct stat st {};
        Local::socket probe(acceptor_.get_executor());
        boost::system::error_code ec;
        if (stat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
            error = path + ": exists and is not a socket";
            return false;
        }
        probe.connect(Local::endpoint(path), ec);
        if (!ec) {
            error = path + ": another daemon is answering there";
            return false;
        }
        ::unlink(path.c_str());  // left by a daemon that died
    }
    boost::system::error_code ec;
    acceptor_.open(Local(), ec);
    // The socket is created by bind: a umask of 0177 makes it 0600 from the start, with no
    // window in which others could connect.
    const mode_t old = ::umask(0177);
    if (!ec) acceptor_.bind(Local::endpoint(path), ec);
    ::umask(old);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error = path + ": " + ec.message();
        acceptor_.close(ec);
        return false;
    }
    path_ = path;
    accept();
    return true;
}

void ControlServer::close() {
    if (!acceptor_.is_open()) return;
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (!path_.empty()) ::unlink(path_.c_str());
}

void ControlServer::accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, Local::socket sock) {
        if (ec) return;  // closed
        std::make_shared<Session>(std::move(sock), *this)->read();
        accept();
    });
}

void ControlServer::on(const std::string& cmd, Handler handler) {
    handlers_[cmd] = [h = std::move(handler)](const Json& req) { return Stream{h(req), {}}; };
}

void ControlServer::on_stream(const std::string& cmd, StreamHandler handler) { handlers_[cmd] = std::move(handler); }

ControlServer::Answer ControlServer::dispatch(const std::string& line) const {
    const Json req = Json::parse(line, nullptr, false);
    if (req.is_discarded() || !req.is_object() || !req.contains("cmd") || !req["cmd"].is_string())
        return {Json{{"ok", false}, {"error", "expected a JSON object with a \"cmd\" string"}}.dump(), {}};
    const std::string cmd = req["cmd"];
    const auto it = handlers_.find(cmd);
    if (it == handlers_.end()) {
        std::string known;
        for (const auto& [name, h] : handlers_) known += (known.empty() ? "" : ", ") + name;
        return {Json{{"ok", false}, {"error", "unknown command '" + cmd + "' (" + known + ")"}}.dump(), {}};
    }
    try {
        Stream s = it->second(req);
        Json out{{"ok", true}};
        for (auto& [k, v] : s.reply.items()) out[k] = v;
        const bool ok = out["ok"] == true;
        return {out.dump(), ok ? std::move(s.take) : nullptr};
    } catch (const std::exception& e) {
        return {Json{{"ok", false}, {"error", e.what()}}.dump(), {}};
    }
}

}  // namespace vlo::control
