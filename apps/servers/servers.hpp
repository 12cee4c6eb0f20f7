// The sample servers a vlo stack hosts, as inetd's internal services and a tiny web server:
//   echo     RFC 862: TCP sends back what it reads until the client closes; UDP answers each
//            datagram with a copy.
//   discard  RFC 863: reads and throws away; sends nothing.
//   chargen  RFC 864: TCP streams the rotating 72-character lines until the client closes; UDP
//            answers each datagram with one of a random length, 0 to 512 characters.
//   http     a minimal HTTP/1.0 and 1.1 server: GET / is a status page of the stack's counters
//            (softnet_stat, ip -s link, /proc/net/snmp, TCP's MIBs); other paths are 404.
// A ServerHost starts them from specs such as "echo@127.0.0.2:7", owns their sockets and
// threads (one per TCP connection) and stops them all, in bounded time, when destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "stack/stack.hpp"
#include "stack/tcp_socket.hpp"
#include "stack/udp_socket.hpp"

namespace vlo::servers {

enum class Kind { echo, discard, chargen, http };

const char* kind_name(Kind kind);
// The well-known port of each (/etc/services): echo 7, discard 9, chargen 19, http 80.
std::uint16_t default_port(Kind kind);

struct ServerSpec {
    Kind kind = Kind::echo;
    Ipv4Address addr;        // 0.0.0.0 (INADDR_ANY): every local address
    std::uint16_t port = 0;  // 0: an ephemeral port, chosen at bind
    bool tcp = true;
    bool udp = true;  // never for http
    // "echo@127.0.0.2:7", with "/tcp" or "/udp" after the kind when only one is served.
    std::string to_string() const;
};

struct SpecParse {
    std::optional<ServerSpec> spec;
    std::string error;  // when !spec: why, in one line
};

// KIND[/tcp|/udp]@ADDR[:PORT] or KIND@:PORT (ADDR 0.0.0.0). KIND is echo, discard, chargen or
// http; without :PORT the kind's well-known port. echo, discard and chargen serve TCP and UDP
// unless /tcp or /udp says one; http is TCP only.
SpecParse parse_spec(std::string_view text);

// RFC 864's pattern: line i (from 0) holds the 72 characters of the 95 printable ASCII ones
// (' ' to '~') starting at the (i mod 95)th, then CR LF.
std::string chargen_line(std::size_t index);

// The whole HTTP exchange as a function, for the server and for tests: the response (status
// line, headers, body) to `request`, a complete request head.
std::string http_response(Stack& stack, std::string_view request);
// The status page's text: the stack's counters in the kernel's formats.
std::string status_text(Stack& stack);

// What one server did; every count only grows.
struct ServerCounters {
    std::atomic<std::uint64_t> connections{0};  // TCP connections accepted
    std::atomic<std::uint64_t> refused{0};      // accepted and closed at once: too many
    std::atomic<std::uint64_t> datagrams{0};    // UDP datagrams received
    std::atomic<std::uint64_t> bytes_in{0};
    std::atomic<std::uint64_t> bytes_out{0};
};

// Hosts servers in one Stack. The stack must outlive the host, and its clock must advance
// (the real clock, or a virtual one a test keeps moving): every wait is at most 100 ms on it,
// after which a thread looks at the stop flag.
class ServerHost {
  public:
    explicit ServerHost(Stack& stack);
    ~ServerHost();  // stop()
    ServerHost(const ServerHost&) = delete;
    ServerHost& operator=(const ServerHost&) = delete;

    // Binds and listens before it returns, so a client may connect at once. On an error
    // nothing of this spec runs, and the message says what failed, e.g.
    // "echo@127.0.0.2:7: tcp bind: Address already in use".
    std::optional<std::string> start(const ServerSpec& spec);
    std::optional<std::string> start(std::string_view spec);  // parse_spec, then start

    // Stops accepting and receiving, ends every connection, joins every thread and closes
    // every socket. Idempotent; bounded by the 100 ms waits (plus a send in progress).
    void stop();

    // One entry per socket (a spec serving TCP and UDP has two); the counters stay valid until
    // stop().
    struct Listening {
        ServerSpec spec;   // with the port actually bound
        bool udp = false;  // which socket this entry describes
        const ServerCounters* counters = nullptr;
    };
    std::vector<Listening> listening() const;
    std::size_t open_connections() const;  // TCP connections being served now
    std::size_t threads() const;           // threads alive: acceptors, UDP servers, connections

    // Connections served at once; more are accepted and closed at once (counted as refused).
    static constexpr std::size_t kMaxConnections = 256;

  private:
    struct Server;
    struct Connection;

    void accept_loop(Server& srv);
    void udp_loop(Server& srv);
    void serve(Server& srv, Connection& conn);
    void reap(bool all);  // joins finished connection threads (all: every one)

    Stack& stack_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;  // guards servers_ and conns_
    std::vector<std::unique_ptr<Server>> servers_;
    std::list<std::unique_ptr<Connection>> conns_;
};

}  // namespace vlo::servers
