#include "apps/servers/servers.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <random>

namespace vlo::servers {

namespace {

constexpr Nanos kPoll = 100 * kNsPerMs;  // every wait, then a look at the stop flag
constexpr std::size_t kIoBuf = 64 * 1024;
constexpr std::size_t kHttpMaxHead = 8 * 1024;      // a longer request head gets 431
constexpr Nanos kHttpHeadTimeout = 10 * kNsPerSec;  // a client that never finishes its head
constexpr Nanos kLingerTimeout = 1 * kNsPerSec;     // reading what follows the response

struct KindName {
    Kind kind;
    std::string_view name;
    std::uint16_t port;
};
constexpr std::array<KindName, 4> kKinds{{
    {Kind::echo, "echo", 7},
    {Kind::discard, "discard", 9},
    {Kind::chargen, "chargen", 19},
    {Kind::http, "http", 80},
}};

// Sends all of data unless the peer goes away or the host stops: true when all was queued.
bool send_all(TcpSocket& s, std::span<const std::uint8_t> data, const std::atomic<bool>& stop,
              ServerCounters& c) {
    while (!data.empty()) {
        std::size_t sent = 0;
        const std::error_code ec = s.send(data, sent, kPoll);
        c.bytes_out += sent;
        data = data.subspan(sent);
        if (ec == std::errc::resource_unavailable_try_again) {
            if (stop) return false;
            continue;
        }
        if (ec) return false;
    }
    return true;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// inetd's check_loop: a datagram from the port of another small service (or port 0) would start
// an endless echo/chargen ping-pong between two servers, so it is not answered.
bool loop_port(std::uint16_t port) {
    return port == 0 || port == 7 || port == 9 || port == 13 || port == 19 || port == 37;
}

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        switch (ch) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            default:
                out += ch;
        }
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::string reply(std::string_view version, int code, std::string_view reason,
                  std::string_view type, std::string_view body, bool head_only) {
    std::string r;
    r += version;
    r += ' ' + std::to_string(code) + ' ';
    r += reason;
    r += "\r\nServer: vlo\r\nContent-Type: ";
    r += type;
    r += "\r\nContent-Length: " + std::to_string(body.size());
    // RFC 9112 9.6: a server that closes after the response says so.
    r += "\r\nConnection: close\r\n\r\n";
    if (!head_only) r += body;
    return r;
}

std::string error_reply(std::string_view version, int code, std::string_view reason,
                        bool head_only) {
    const std::string body = std::to_string(code) + " " + std::string(reason) + "\n";
    return reply(version, code, reason, "text/plain; charset=utf-8", body, head_only);
}

// Where a request head ends (just past the blank line), or npos. RFC 9112 2.2 lets a recipient
// take a bare LF as a line terminator.
std::size_t head_end(std::string_view buf) {
    const std::size_t crlf = buf.find("\r\n\r\n");
    const std::size_t lf = buf.find("\n\n");
    if (crlf == std::string_view::npos && lf == std::string_view::npos)
        return std::string_view::npos;
    if (crlf == std::string_view::npos) return lf + 2;
    if (lf == std::string_view::npos) return crlf + 4;
    return std::min(crlf + 4, lf + 2);
}

}  // namespace

const char* kind_name(Kind kind) {
    for (const auto& k : kKinds)
        if (k.kind == kind) return k.name.data();
    return "?";
}

std::uint16_t default_port(Kind kind) {
    for (const auto& k : kKinds)
        if (k.kind == kind) return k.port;
    return 0;
}

std::string ServerSpec::to_string() const {
    std::string s = kind_name(kind);
    if (kind != Kind::http && tcp != udp) s += tcp ? "/tcp" : "/udp";
    return s + "@" + addr.to_string() + ":" + std::to_string(port);
}

SpecParse parse_spec(std::string_view text) {
    SpecParse r;
    auto fail = [&](std::string why) {
        r.error = "invalid server '" + std::string(text) + "': " + why;
        return r;
    };
    const std::size_t at = text.find('@');
    if (at == std::string_view::npos) return fail("expected KIND@ADDR[:PORT]");
    std::string_view kind = text.substr(0, at);
    std::string_view where = text.substr(at + 1);
    ServerSpec spec;
    if (const std::size_t slash = kind.find('/'); slash != std::string_view::npos) {
        const std::string_view proto = kind.substr(slash + 1);
        kind = kind.substr(0, slash);
        if (proto == "tcp")
            spec.udp = false;
        else if (proto == "udp")
            spec.tcp = false;
        else
            return fail("protocol '" + std::string(proto) + "' (tcp or udp)");
    }
    const auto k = std::find_if(kKinds.begin(), kKinds.end(),
                                [&](const KindName& n) { return n.name == kind; });
    if (k == kKinds.end())
        return fail("unknown kind '" + std::string(kind) + "' (echo, discard, chargen, http)");
    spec.kind = k->kind;
    if (spec.kind == Kind::http) {
        if (!spec.tcp) return fail("http is served over TCP only");
        spec.udp = false;
    }
    std::string_view addr = where;
    spec.port = k->port;
    if (const std::size_t colon = where.rfind(':'); colon != std::string_view::npos) {
        addr = where.substr(0, colon);
        const std::string_view port = where.substr(colon + 1);
        unsigned v = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
        if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || v > 65535)
            return fail("port '" + std::string(port) + "' (0 to 65535)");
        spec.port = static_cast<std::uint16_t>(v);
    }
    if (addr.empty()) {
        spec.addr = kInaddrAny;
    } else if (auto a = Ipv4Address::parse(addr)) {
        spec.addr = *a;
    } else {
        return fail("address '" + std::string(addr) + "' (a dotted quad, or empty for 0.0.0.0)");
    }
    r.spec = spec;
    return r;
}

std::string chargen_line(std::size_t index) {
    constexpr int kFirst = ' ', kCount = 95, kLineLen = 72;
    std::string line(kLineLen + 2, '\0');
    const std::size_t start = index % kCount;
    for (std::size_t i = 0; i < kLineLen; ++i)
        line[i] = static_cast<char>(kFirst + (start + i) % kCount);
    line[kLineLen] = '\r';
    line[kLineLen + 1] = '\n';
    return line;
}

std::string status_text(Stack& stack) {
    const TcpConfig& tc = stack.config().tcp;
    const std::string snmp = stack.snmp_text();
    std::string s = "vlo: the counters of this stack\n";
    s += "\nsoftnet_stat (/proc/net/softnet_stat):\n" + stack.softnet_stat();
    s += "\nlinks (ip -s link):\n" + stack.link_stats_text();
    s += "\nsnmp (/proc/net/snmp):\n" + snmp;
    // TCP's MIBs, unless the snmp text already carries them (as /proc/net/snmp's Tcp line).
    if (snmp.find("Tcp: RtoAlgorithm") == std::string::npos)
        s += "\ntcp (/proc/net/snmp Tcp, /proc/net/netstat TcpExt):\n" +
             stack.tcp().stats().to_text(static_cast<long>(tc.tcp_rto_min / kNsPerMs),
                                         static_cast<long>(tc.tcp_rto_max / kNsPerMs));
    return s;
}

std::string http_response(Stack& stack, std::string_view request) {
    // Request line: method SP target SP HTTP-version (RFC 9112 3).
    const std::size_t eol = request.find('\n');
    const std::string_view line = trim(request.substr(0, eol));
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return error_reply("HTTP/1.0", 400, "Bad Request", false);
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.0" && version != "HTTP/1.1") {
        if (version.substr(0, 5) == "HTTP/")
            return error_reply("HTTP/1.1", 505, "HTTP Version Not Supported", false);
        return error_reply("HTTP/1.0", 400, "Bad Request", false);
    }
    const bool head = method == "HEAD";
    if (method != "GET" && !head) return error_reply(version, 501, "Not Implemented", false);
    std::string_view path = target.substr(0, target.find('?'));
    if (path.substr(0, 7) == "http://") {  // absolute-form (RFC 9112 3.2.2): keep the path
        const std::size_t slash = path.find('/', 7);
        path = slash == std::string_view::npos ? "/" : path.substr(slash);
    }
    if (path != "/") return error_reply(version, 404, "Not Found", head);

    // A client that asks for text/html gets the page as HTML; everyone else plain text.
    bool html = false;
    for (std::size_t pos = eol; pos != std::string_view::npos && pos + 1 < request.size();) {
        const std::size_t next = request.find('\n', pos + 1);
        const std::string_view field =
            request.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
        pos = next;
        const std::size_t colon = field.find(':');
        if (colon != std::string_view::npos && iequals(trim(field.substr(0, colon)), "accept") &&
            field.find("text/html", colon) != std::string_view::npos)
            html = true;
    }
    const std::string text = status_text(stack);
    if (!html) return reply(version, 200, "OK", "text/plain; charset=utf-8", text, head);
    const std::string page =
        "<!DOCTYPE html>\n<html><head><title>vlo status</title></head><body>\n"
        "<h1>vlo status</h1>\n<pre>\n" +
        html_escape(text) + "</pre>\n</body></html>\n";
    return reply(version, 200, "OK", "text/html; charset=utf-8", page, head);
}

struct ServerHost::Server {
    ServerSpec spec;
    bool udp = false;
    std::unique_ptr<TcpSocket> tcp;
    std::unique_ptr<UdpSocket> usock;
    std::uint16_t port = 0;
    std::thread thread;
    ServerCounters counters;
};

struct ServerHost::Connection {
    std::unique_ptr<TcpSocket> sock;
    std::thread thread;
    std::atomic<bool> done{false};
};

ServerHost::ServerHost(Stack& stack) : stack_(stack) {}

ServerHost::~ServerHost() { stop(); }

std::optional<std::string> ServerHost::start(std::string_view spec) {
    SpecParse p = parse_spec(spec);
    if (!p.spec) return p.error;
    return start(*p.spec);
}

std::optional<std::string> ServerHost::start(const ServerSpec& spec) {
    if (stop_) return spec.to_string() + ": the host is stopped";
    std::vector<std::unique_ptr<Server>> made;
    auto fail = [&](const char* what, const std::error_code& ec) {
        return spec.to_string() + ": " + what + ": " + ec.message();
    };
    if (spec.tcp) {
        auto srv = std::make_unique<Server>();
        srv->spec = spec;
        srv->tcp = std::make_unique<TcpSocket>(stack_);
        srv->tcp->set_reuseaddr(true);  // as every server does, for TIME_WAIT leftovers
        if (auto ec = srv->tcp->bind({spec.addr, spec.port})) return fail("tcp bind", ec);
        if (auto ec = srv->tcp->listen(stack_.config().tcp.somaxconn))
            return fail("tcp listen", ec);
        srv->port = srv->tcp->local_address().port;
        made.push_back(std::move(srv));
    }
    if (spec.udp) {
        auto srv = std::make_unique<Server>();
        srv->spec = spec;
        srv->udp = true;
        srv->usock = std::make_unique<UdpSocket>(stack_);
        srv->usock->set_reuseaddr(true);
        // An ephemeral TCP port is offered to UDP too, so one spec keeps one port.
        const std::uint16_t port = spec.port == 0 && !made.empty() ? made.front()->port : spec.port;
        if (auto ec = srv->usock->bind(spec.addr, port)) return fail("udp bind", ec);
        srv->port = srv->usock->local_port();
        made.push_back(std::move(srv));
    }
    std::lock_guard lock(mu_);
    for (auto& srv : made) {
        srv->spec.port = srv->port;
        Server& s = *srv;
        servers_.push_back(std::move(srv));
        s.thread = s.udp ? std::thread([this, &s] { udp_loop(s); })
                         : std::thread([this, &s] { accept_loop(s); });
    }
    return std::nullopt;
}

void ServerHost::stop() {
    if (stop_.exchange(true)) return;
    std::vector<std::unique_ptr<Server>> servers;
    {
        std::lock_guard lock(mu_);
        servers.swap(servers_);
    }
    // The acceptors first, so no connection is added while the rest are joined.
    for (auto& s : servers)
        if (s->thread.joinable()) s->thread.join();
    reap(true);
    for (auto& s : servers) {
        if (s->tcp) s->tcp->close();
        s->tcp.reset();
        s->usock.reset();
    }
}

std::vector<ServerHost::Listening> ServerHost::listening() const {
    std::lock_guard lock(mu_);
    std::vector<Listening> out;
    for (const auto& s : servers_) out.push_back({s->spec, s->udp, &s->counters});
    return out;
}

std::size_t ServerHost::open_connections() const {
    std::lock_guard lock(mu_);
    return static_cast<std::size_t>(
        std::count_if(conns_.begin(), conns_.end(), [](const auto& c) { return !c->done.load(); }));
}

std::size_t ServerHost::threads() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& s : servers_) n += s->thread.joinable() ? 1 : 0;
    for (const auto& c : conns_) n += c->done ? 0 : 1;
    return n;
}

void ServerHost::reap(bool all) {
    std::list<std::unique_ptr<Connection>> finished;
    {
        std::lock_guard lock(mu_);
        for (auto it = conns_.begin(); it != conns_.end();) {
            if (all || (*it)->done) {
                auto next = std::next(it);
                finished.splice(finished.end(), conns_, it);
                it = next;
            } else {
                ++it;
            }
        }
    }
    for (auto& c : finished)
        if (c->thread.joinable()) c->thread.join();
}

void ServerHost::accept_loop(Server& srv) {
    while (!stop_) {
        std::error_code ec;
        std::unique_ptr<TcpSocket> sock = srv.tcp->accept(ec, kPoll);
        reap(false);
        if (!sock) continue;  // EAGAIN: nobody came within kPoll
        ++srv.counters.connections;
        if (open_connections() >= kMaxConnections) {
            ++srv.counters.refused;
            sock->close();
            continue;
        }
        auto conn = std::make_unique<Connection>();
        conn->sock = std::move(sock);
        Connection& c = *conn;
        std::lock_guard lock(mu_);
        conns_.push_back(std::move(conn));
        c.thread = std::thread([this, &srv, &c] {
            serve(srv, c);
            c.sock->close();
            c.done = true;
        });
    }
}

void ServerHost::serve(Server& srv, Connection& conn) {
    TcpSocket& s = *conn.sock;
    ServerCounters& ctr = srv.counters;
    std::vector<std::uint8_t> buf(kIoBuf);
    switch (srv.spec.kind) {
        case Kind::echo:
        case Kind::discard:
            // RFC 862 / 863: until the client closes its side.
            while (!stop_) {
                std::size_t n = 0;
                const std::error_code ec = s.recv(buf, n, kPoll);
                if (ec == std::errc::resource_unavailable_try_again) continue;
                if (ec || n == 0) return;
                ctr.bytes_in += n;
                if (srv.spec.kind == Kind::echo && !send_all(s, {buf.data(), n}, stop_, ctr))
                    return;
            }
            return;
        case Kind::chargen: {
            // RFC 864: send lines until the client closes; whatever it sends is thrown away.
            std::string cycle;
            for (std::size_t i = 0; i < 95; ++i) cycle += chargen_line(i);
            const std::string twice = cycle + cycle;  // any window of cycle.size() is contiguous
            std::size_t pos = 0;
            while (!stop_) {
                std::size_t n = 0;
                while (!s.try_recv(buf, n) && n > 0) ctr.bytes_in += n;
                std::size_t sent = 0;
                const std::error_code ec = s.send(
                    bytes_of(std::string_view(twice).substr(pos, cycle.size())), sent, kPoll);
                ctr.bytes_out += sent;
                pos = (pos + sent) % cycle.size();
                if (ec && ec != std::errc::resource_unavailable_try_again) return;
            }
            return;
        }
        case Kind::http: {
            std::string head;
            const Nanos give_up = stack_.clock().now_ns() + kHttpHeadTimeout;
            std::size_t end = std::string::npos;
            while (!stop_ && (end = head_end(head)) == std::string::npos &&
                   head.size() <= kHttpMaxHead) {
                if (stack_.clock().now_ns() >= give_up) return;
                std::size_t n = 0;
                const std::error_code ec = s.recv(buf, n, kPoll);
                if (ec == std::errc::resource_unavailable_try_again) continue;
                if (ec || n == 0) break;
                ctr.bytes_in += n;
                head.append(reinterpret_cast<const char*>(buf.data()), n);
            }
            if (stop_) return;
            std::string response;
            if (end != std::string::npos)
                response = http_response(stack_, std::string_view(head).substr(0, end));
            else if (head.size() > kHttpMaxHead)
                response = error_reply("HTTP/1.1", 431, "Request Header Fields Too Large", false);
            else if (!head.empty())
                response = error_reply("HTTP/1.0", 400, "Bad Request", false);  // EOF mid-head
            else
                return;
            if (!send_all(s, bytes_of(response), stop_, ctr)) return;
            // Close gracefully: FIN after the response, then read until the client's FIN, so
            // no unread byte turns our close into a RST that could cut the response short.
            s.shutdown(Shutdown::write);
            const Nanos linger_end = stack_.clock().now_ns() + kLingerTimeout;
            while (!stop_ && stack_.clock().now_ns() < linger_end) {
                std::size_t n = 0;
                const std::error_code ec = s.recv(buf, n, kPoll);
                if (ec == std::errc::resource_unavailable_try_again) continue;
                if (ec || n == 0) break;
                ctr.bytes_in += n;
            }
            return;
        }
    }
}

void ServerHost::udp_loop(Server& srv) {
    UdpSocket& s = *srv.usock;
    ServerCounters& ctr = srv.counters;
    std::vector<std::uint8_t> buf(65536);
    std::mt19937 rng(std::random_device{}());
    std::size_t line = 0;
    while (!stop_) {
        Ipv4Address from;
        std::uint16_t port = 0;
        std::size_t n = 0;
        // Any error (EAGAIN after kPoll, an ICMP error for an earlier reply) just loops.
        if (s.recvfrom(buf, from, port, n, stack_.clock().now_ns() + kPoll)) continue;
        ++ctr.datagrams;
        ctr.bytes_in += n;
        if (loop_port(port)) continue;
        switch (srv.spec.kind) {
            case Kind::echo:  // RFC 862: send back the data of the datagram
                if (!s.sendto(from, port, {buf.data(), n})) ctr.bytes_out += n;
                break;
            case Kind::chargen: {  // RFC 864: a random number (0 to 512) of characters
                const std::size_t len = std::uniform_int_distribution<std::size_t>(0, 512)(rng);
                std::string out;
                while (out.size() < len) out += chargen_line(line++);
                out.resize(len);
                if (!s.sendto(from, port, bytes_of(out))) ctr.bytes_out += len;
                break;
            }
            case Kind::discard:
            case Kind::http:
                break;
        }
    }
}

}  // namespace vlo::servers
