#include "tools/control/control_client.hpp"

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

}  // namespace vlo::control
