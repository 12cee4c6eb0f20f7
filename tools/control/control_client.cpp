#include "tools/control/control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

namespace vlo::control {

std::optional<nlohmann::ordered_json> request(const std::string& path, const nlohmann::ordered_json& req, std::string& error) {
    namespace asio = boost::asio;
    using Local = asio::local::stream_protocol;
    asio::io_context io;
    Local::socket sock(io);
    boost::system::error_code ec;
    sock.connect(Local::endpoint(path), ec);
    if (ec) {
        error = path + ": " + ec.message();
        return std::nullopt;
    }
    const std::string line = req.dump() + "\n";
    asio::write(sock, asio::buffer(line), ec);
    std::string reply;
    if (!ec) asio::read_until(sock, asio::dynamic_buffer(reply), '\n', ec);
    if (ec && reply.find('\n') == std::string::npos) {
        error = path + ": " + ec.message();
        return std::nullopt;
    }
    reply.resize(reply.find('\n'));
    nlohmann::ordered_json out = nlohmann::ordered_json::parse(reply, nullptr, false);
    if (out.is_discarded() || !out.is_object()) {
        error = path + ": the reply is not a JSON object";
        return std::nullopt;
    }
    return out;
}

int open_stream(const std::string& path, const nlohmann::ordered_json& req, nlohmann::ordered_json& reply,
                std::string& error) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        error = path + ": " + std::strerror(ENAMETOOLONG);
        return -1;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        error = path + ": " + std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return -1;
    }
    const std::string line = req.dump() + "\n";
    std::string in, why;
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) why = std::strerror(errno);
    for (char c = 0; why.empty() && c != '\n';) {
        const ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) why = std::strerror(errno);
        else if (n == 0) why = "the daemon closed the connection";
        else if (c != '\n') in += c;
    }
    if (!why.empty()) {
        error = path + ": " + why;
        ::close(fd);
        return -1;
    }
    reply = nlohmann::ordered_json::parse(in, nullptr, false);
    if (reply.is_discarded() || !reply.is_object()) {
        error = path + ": the reply is not a JSON object";
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace vlo::control
