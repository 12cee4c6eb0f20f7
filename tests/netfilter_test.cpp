// Netfilter: iptables' command language (every option, iptables' error words, nothing changed
// by a bad command), the -L and -S listings, and the rules at work on the deterministic setup
// (inline worker, virtual clock): REJECT as Linux sends it and the errno each variant gives a
// TCP or UDP client, DROP and its counters, LOG lines, statistic, string, interfaces, flags,
// ports and negation.
#include <tins/tins.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "frontend/iptables.hpp"
#include "stack/ping_socket.hpp"
#include "stack/tcp_socket.hpp"
#include "stack/udp_socket.hpp"
#include "test_util.hpp"

using namespace vlo;
using Bytes = std::vector<std::uint8_t>;

namespace {

const Ipv4Address kLo{127, 0, 0, 1};
const Ipv4Address kLo2{127, 0, 0, 2};

struct Nf {
    VirtualClock clock;
    Stack stack;
    explicit Nf(StackConfig c = test::inline_config()) : stack(c, clock) {}
    Netfilter& nf() { return stack.netfilter(); }

    // A command that must succeed; returns what it printed.
    std::string ok(const std::string& cmd) {
        std::string out;
        const std::error_code ec = frontend::iptables(nf(), cmd, &out);
        INFO("iptables " << cmd << "\n" << out);
        REQUIRE_FALSE(ec);
        return out;
    }
    // A command that must fail with `code`; returns its message, after checking that the
    // rules are as they were.
    std::string bad(const std::string& cmd, std::errc code = std::errc::invalid_argument) {
        const std::string before = state();
        std::string msg;
        const std::error_code ec = frontend::iptables(nf(), cmd, &msg);
        INFO("iptables " << cmd << "\n" << msg);
        CHECK(ec == code);
        CHECK(state() == before);
        return msg;
    }
    std::string state() {
        std::string s;
        for (const char* t : {"filter", "raw", "mangle"})
            s += frontend::iptables_list_rules(nf(), {}, t);
        return s;
    }
    // The -S line of rule `num` of `chain`.
    std::string rule(const std::string& chain, unsigned num = 1) {
        return ok("-S " + chain + " " + std::to_string(num));
    }

    std::uint64_t nf_drops() { return stack.net_rx().drops().count(DropReason::netfilter_drop); }
    std::uint64_t icmp(IcmpMib m) { return stack.snmp().icmp.get(m); }
    void advance(Nanos by) {
        for (; by > 0; by -= 10 * kNsPerMs) {
            clock.advance(std::min(10 * kNsPerMs, by));
            stack.run_timers();
        }
    }
};

Bytes bytes(const std::string& s) { return {s.begin(), s.end()}; }

// One echo request to dst; true if its reply came back (the inline worker has answered by the
// time send_echo returns).
bool ping(Nf& n, PingSocket& sock, std::uint16_t seq, Ipv4Address dst = kLo) {
    const Bytes payload(56, 0xa5);
    if (sock.send_echo(dst, seq, payload)) return false;
    EchoReply reply;
    Bytes data(64);
    return !sock.recv_echo(reply, data, n.clock.now_ns()) && reply.seq == seq;
}

// connect() on the virtual clock: starts it, then moves time in 10 ms steps until it settles.
// Returns how it ended and, in `took`, after how long.
std::error_code connect_virtual(Nf& n, TcpSocket& client, SockAddr to, Nanos& took,
                                Nanos limit = 200 * kNsPerSec) {
    const Nanos start = n.clock.now_ns();
    std::error_code ec = client.connect_start(to);
    if (ec == std::errc::operation_in_progress) {
        ec = client.so_error();
        while (!ec && client.state() == TcpState::syn_sent && n.clock.now_ns() - start < limit) {
            n.advance(10 * kNsPerMs);
            ec = client.so_error();
        }
        if (!ec && client.state() == TcpState::syn_sent)
            ec = std::make_error_code(std::errc::operation_in_progress);
    }
    took = n.clock.now_ns() - start;
    return ec;
}

// Listener on `at` and one accepted connection.
struct Pair {
    TcpSocket listener, client;
    std::unique_ptr<TcpSocket> server;
    Pair(Nf& n, SockAddr at) : listener(n.stack), client(n.stack) {
        REQUIRE_FALSE(listener.bind(at));
        REQUIRE_FALSE(listener.listen(16));
        Nanos took = 0;
        REQUIRE_FALSE(connect_virtual(n, client, at, took));
        std::error_code ec;
        server = listener.try_accept(ec);
        REQUIRE(server);
    }
};

std::string recv_now(TcpSocket& s, std::error_code* err = nullptr) {
    std::string out;
    Bytes buf(4096);
    for (;;) {
        std::size_t n = 0;
        const std::error_code ec = s.try_recv(buf, n);
        if (ec || n == 0) {
            if (err) *err = ec;
            break;
        }
        out.append(buf.begin(), buf.begin() + static_cast<long>(n));
    }
    return out;
}

}  // namespace

// ---- the string match's search ----

TEST_CASE("bm and kmp find the same first occurrence with and without case", "[netfilter]") {
    using nf::TextSearch;
    auto find = [](TextSearch::Algo algo, const std::string& pat, const std::string& text,
                   bool icase) {
        const TextSearch ts(algo, {reinterpret_cast<const std::uint8_t*>(pat.data()), pat.size()},
                            icase);
        return ts.find({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    };
    const std::string text = "xxQUIQUIT\r\nabababcabababd quit";
    for (const auto algo : {TextSearch::Algo::bm, TextSearch::Algo::kmp}) {
        CHECK(find(algo, "QUIT", text, false) == 5);
        CHECK(find(algo, "quit", text, false) == text.size() - 4);
        CHECK(find(algo, "quit", text, true) == 5);
        CHECK(find(algo, "abababd", text, false) == text.find("abababd"));
        CHECK(find(algo, "ababac", text, false) == TextSearch::npos);
        CHECK(find(algo, "x", text, false) == 0);
        CHECK(find(algo, text + "!", text, false) == TextSearch::npos);
        CHECK(find(algo, "", text, false) == TextSearch::npos);
    }
}

// ---- parsing ----

TEST_CASE("iptables words come back from -S as iptables-save writes them", "[netfilter]") {
    Nf n;
    struct Case {
        const char* given;
        const char* saved;
    };
    const Case cases[] = {
        {"-A INPUT -s 127.0.0.1 -j REJECT",
         "-A INPUT -s 127.0.0.1/32 -j REJECT --reject-with icmp-port-unreachable"},
        {"-A INPUT -d 127.0.0.2 -p tcp -j REJECT",
         "-A INPUT -d 127.0.0.2/32 -p tcp -j REJECT --reject-with icmp-port-unreachable"},
        {"-A INPUT -s 10.1.2.3/8 -j ACCEPT", "-A INPUT -s 10.0.0.0/8 -j ACCEPT"},
        {"-A INPUT -s 10.1.2.3/255.255.0.0 -j ACCEPT", "-A INPUT -s 10.1.0.0/16 -j ACCEPT"},
        {"-A INPUT ! -s 10.0.0.0/8 -p udp --dport 53:60 -j DROP",
         "-A INPUT ! -s 10.0.0.0/8 -p udp -m udp --dport 53:60 -j DROP"},
        {"-A INPUT -p udp ! --sport 7 -j DROP", "-A INPUT -p udp -m udp ! --sport 7 -j DROP"},
        {"-A INPUT -p tcp --syn -j DROP",
         "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP"},
        {"-A INPUT -p tcp ! --tcp-flags ALL NONE -j ACCEPT",
         "-A INPUT -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE -j ACCEPT"},
        {"-A INPUT -p tcp --tcp-flags syn,ack ack",
         "-A INPUT -p tcp -m tcp --tcp-flags SYN,ACK ACK"},
        {"-A INPUT -p tcp --sport 1024: --dport :1023",
         "-A INPUT -p tcp -m tcp --sport 1024:65535 --dport 0:1023"},
        {"-A INPUT -p tcp --destination-port 0x50", "-A INPUT -p tcp -m tcp --dport 80"},
        {"-A INPUT -p icmp --icmp-type echo-request -j DROP",
         "-A INPUT -p icmp -m icmp --icmp-type 8 -j DROP"},
        {"-A INPUT -p icmp --icmp-type port-unreachable",
         "-A INPUT -p icmp -m icmp --icmp-type 3/3"},
        {"-A INPUT -p icmp ! --icmp-type 3/1", "-A INPUT -p icmp -m icmp ! --icmp-type 3/1"},
        {"-A INPUT -p icmp -m icmp --icmp-type any", "-A INPUT -p icmp -m icmp --icmp-type any"},
        {"-A INPUT -p 1 -j ACCEPT", "-A INPUT -p icmp -j ACCEPT"},
        {"-A INPUT -p 47 -j ACCEPT", "-A INPUT -p 47 -j ACCEPT"},
        {"-A INPUT -p ALL -j ACCEPT", "-A INPUT -j ACCEPT"},
        {"-A INPUT ! -p tcp -j ACCEPT", "-A INPUT ! -p tcp -j ACCEPT"},
        {"-A INPUT -i lo -j ACCEPT", "-A INPUT -i lo -j ACCEPT"},
        {"-A INPUT ! -i eth+ -j ACCEPT", "-A INPUT ! -i eth+ -j ACCEPT"},
        {"-A OUTPUT ! -o lo -j DROP", "-A OUTPUT ! -o lo -j DROP"},
        {"-A INPUT -f -j DROP", "-A INPUT -f -j DROP"},
        {"-A INPUT -m statistic --mode nth --every 3 --packet 1 -j DROP",
         "-A INPUT -m statistic --mode nth --every 3 --packet 1 -j DROP"},
        {"-A INPUT -m statistic --mode random --probability 0.25 -j DROP",
         "-A INPUT -m statistic --mode random --probability 0.25000000000 -j DROP"},
        {"-A INPUT -m statistic --mode random ! --probability 0.5",
         "-A INPUT -m statistic --mode random ! --probability 0.50000000000"},
        {"-A INPUT -p tcp -m string --string QUIT --algo bm -j REJECT --reject-with tcp-reset",
         "-A INPUT -p tcp -m string --string \"QUIT\" --algo bm -j REJECT --reject-with tcp-reset"},
        {"-A INPUT -m string ! --string 'a \"b\"' --algo kmp --from 20 --to 100 --icase",
         "-A INPUT -m string ! --string \"a \\\"b\\\"\" --algo kmp --from 20 --to 100 --icase"},
        {"-A INPUT -m string --hex-string '|51 55|IT' --algo bm",
         "-A INPUT -m string --string \"QUIT\" --algo bm"},
        {"-A INPUT -m string --hex-string '|00|x' --algo bm",
         "-A INPUT -m string --hex-string \"|0078|\" --algo bm"},
        {"-A INPUT -j LOG --log-prefix 'nf: ' --log-level info --log-tcp-sequence",
         "-A INPUT -j LOG --log-prefix \"nf: \" --log-level 6 --log-tcp-sequence"},
        {"-A INPUT -j LOG --log-level warning", "-A INPUT -j LOG"},
        {"-A INPUT -p tcp -j REJECT --reject-with tcp-rst",
         "-A INPUT -p tcp -j REJECT --reject-with tcp-reset"},
        {"-A INPUT -j REJECT --reject-with icmp-net-unreachable",
         "-A INPUT -j REJECT --reject-with icmp-net-unreachable"},
        {"-A INPUT -j REJECT --reject-with host-prohib",
         "-A INPUT -j REJECT --reject-with icmp-host-prohibited"},
        {"-A INPUT -j REJECT --reject-with icmp-net-prohibited",
         "-A INPUT -j REJECT --reject-with icmp-net-prohibited"},
        {"-A INPUT -j REJECT --reject-with ICMP-ADMIN",
         "-A INPUT -j REJECT --reject-with icmp-admin-prohibited"},
        {"-A INPUT -j REJECT --reject-with proto-unreach",
         "-A INPUT -j REJECT --reject-with icmp-proto-unreachable"},
        {"-A INPUT -s 10/8 -d 0/0 -j DROP", "-A INPUT -s 10.0.0.0/8 -j DROP"},
        {"-A INPUT -d 192.168.1 -j DROP", "-A INPUT -d 192.168.1.0/32 -j DROP"},
        {"--append INPUT --source 1.2.3.4 --protocol=udp --jump DROP",
         "-A INPUT -s 1.2.3.4/32 -p udp -j DROP"},
        {"-A INPUT -p tcp", "-A INPUT -p tcp"},
        {"-A INPUT -j CONTINUE", "-A INPUT"},
    };
    for (const Case& c : cases) {
        n.ok("-F");
        n.ok(c.given);
        const std::string chain =
            std::string(c.saved).substr(3, std::string(c.saved).find(' ', 3) - 3);
        CHECK(n.rule(chain) == std::string(c.saved) + "\n");
    }
}

TEST_CASE("iptables -I -D -R -F -P and -C change the chain as iptables does", "[netfilter]") {
    Nf n;
    n.ok("-A INPUT -s 1.1.1.1 -j DROP");
    n.ok("-A INPUT -s 2.2.2.2 -j DROP");
    n.ok("-I INPUT -s 3.3.3.3 -j ACCEPT");    // first by default
    n.ok("-I INPUT 3 -s 4.4.4.4 -j ACCEPT");  // before the old second
    n.ok("-I INPUT 5 -s 5.5.5.5 -j ACCEPT");  // rule_max + 1 is allowed
    CHECK(n.ok("-S INPUT") ==
          "-P INPUT ACCEPT\n"
          "-A INPUT -s 3.3.3.3/32 -j ACCEPT\n"
          "-A INPUT -s 1.1.1.1/32 -j DROP\n"
          "-A INPUT -s 4.4.4.4/32 -j ACCEPT\n"
          "-A INPUT -s 2.2.2.2/32 -j DROP\n"
          "-A INPUT -s 5.5.5.5/32 -j ACCEPT\n");
    n.ok("-C INPUT -s 4.4.4.4 -j ACCEPT");
    n.ok("-D INPUT -s 4.4.4.4/32 -j ACCEPT");  // by specification
    n.ok("-D INPUT 1");                        // by number
    n.ok("-R INPUT 2 -s 6.6.6.6 -j DROP");
    n.ok("-P INPUT DROP");
    n.ok("-A INPUT -s 7.7.7.7,8.8.8.8 -j DROP");  // two addresses: two rules
    CHECK(n.ok("-S") ==
          "-P INPUT DROP\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
          "-A INPUT -s 1.1.1.1/32 -j DROP\n"
          "-A INPUT -s 6.6.6.6/32 -j DROP\n"
          "-A INPUT -s 5.5.5.5/32 -j ACCEPT\n"
          "-A INPUT -s 7.7.7.7/32 -j DROP\n"
          "-A INPUT -s 8.8.8.8/32 -j DROP\n");
    n.ok("-F INPUT");  // flushing keeps the policy
    CHECK(n.ok("-S INPUT") == "-P INPUT DROP\n");
    n.ok("-t mangle -A POSTROUTING -p udp -j ACCEPT");
    n.ok("-t raw -I PREROUTING -i lo -j DROP");
    CHECK(n.ok("-t raw -S") ==
          "-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n-A PREROUTING -i lo -j DROP\n");
    CHECK(n.ok("-t mangle -S POSTROUTING") ==
          "-P POSTROUTING ACCEPT\n-A POSTROUTING -p udp -j ACCEPT\n");
    CHECK(n.ok("-V") == "iptables v1.8.9 (vlo)\n");
}

TEST_CASE("a bad command gets iptables' one-line error naming the bad word and changes nothing",
          "[netfilter]") {
    Nf n;
    n.ok("-A INPUT -s 9.9.9.9 -j DROP");
    n.ok("-t raw -A OUTPUT -p udp -j ACCEPT");
    const std::string p = "iptables v1.8.9 (vlo): ";
    CHECK(n.bad("-A INPUT --bogus") == p + "unknown option \"--bogus\"");
    CHECK(n.bad("-A INPUT -Q") == p + "unknown option \"-Q\"");
    CHECK(n.bad("-A INPUT foo") == p + "Bad argument `foo'");
    CHECK(n.bad("-A INPUT --dport 80 -j DROP") == p + "unknown option \"--dport\"");
    CHECK(n.bad("-A INPUT -p udp --syn") == p + "unknown option \"--syn\"");
    CHECK(n.bad("-A INPUT -p tcp --dport 99999") == p + "invalid port/service `99999' specified");
    CHECK(n.bad("-A INPUT -p tcp --sport 90:80") == p + "invalid portrange (min > max)");
    CHECK(n.bad("-A INPUT -p tcp --dport 80 --dport 81") ==
          p + "Only one `--destination-port' allowed");
    CHECK(n.bad("-A INPUT -p tcp --syn --tcp-flags ALL SYN") ==
          p + "Only one of `--syn' or `--tcp-flags'  allowed");
    CHECK(n.bad("-A INPUT -p tcp --tcp-flags SYN,BOGUS SYN") == p + "Unknown TCP flag `BOGUS'");
    CHECK(n.bad("-A INPUT -p tcp --tcp-flags SYN") == p + "--tcp-flags requires two args.");
    CHECK(n.bad("-A INPUT -p udp --dport 1:2:3") ==
          p + "udp: Too many components for option \"--dport\" (max: 2)");
    CHECK(n.bad("-A INPUT -p udp --dport 80 --destination-port 81") ==
          p + "udp: option \"--destination-port\" can only be used once.");
    CHECK(n.bad("-A INPUT -p icmp --icmp-type bogus") == p + "Unknown ICMP type `bogus'");
    CHECK(n.bad("-A INPUT -p icmp --icmp-type echo-re") ==
          p + "Ambiguous ICMP type `echo-re': `echo-reply' or `echo-request'?");
    CHECK(n.bad("-A INPUT -p icmp -m icmp") ==
          p + "icmp: option \"--icmp-type\" must be specified");
    CHECK(n.bad("-A INPUT -p bogus") == p + "unknown protocol \"bogus\" specified");
    CHECK(n.bad("-A INPUT ! -p all") == p + "rule would never match protocol");
    CHECK(n.bad("-A INPUT -s 300.1.1.1") == p + "host/network `300.1.1.1' not found");
    CHECK(n.bad("-A INPUT -s 1.2.3.4/33") == p + "invalid mask `33' specified");
    CHECK(n.bad("-A INPUT -s 1.2.3.4/255.0") == p + "invalid mask `255.0' specified");
    CHECK(n.bad("-A INPUT -s localhost") == p + "host/network `localhost' not found");
    CHECK(n.bad("-A INPUT ! -s 1.1.1.1,2.2.2.2") ==
          p + "! not allowed with multiple source or destination IP addresses");
    CHECK(n.bad("-A INPUT -s 1.1.1.1 --source 2.2.2.2") ==
          p + "multiple --source options not allowed");
    CHECK(n.bad("-A INPUT ! ! -s 1.1.1.1") == p + "multiple consecutive ! not allowed");
    CHECK(n.bad("-A INPUT -s 1.1.1.1 !") == p + "nothing appropriate following !");
    CHECK(n.bad("-A INPUT ! -j DROP") == p + "cannot have ! before --jump");
    CHECK(n.bad("-A INPUT -j") == p + "option \"-j\" requires an argument");
    CHECK(n.bad("-A INPUT -p tcp --dport") == p + "option \"--dport\" requires an argument");
    CHECK(n.bad("-A INPUT -o lo") == p + "Can't use --out-interface with INPUT");
    CHECK(n.bad("-A OUTPUT -i lo") == p + "Can't use --in-interface with OUTPUT");
    CHECK(n.bad("-A INPUT -i ''") == p + "Empty interface is likely to be undesired");
    CHECK(n.bad("-A INPUT -i abcdefghijklmnop") ==
          p + "interface name `abcdefghijklmnop' must be shorter than 16 characters");
    CHECK(n.bad("-A INPUT -m bogus") ==
          p + "Couldn't load match `bogus':No such file or directory");
    CHECK(n.bad("-A INPUT ! -m tcp") == p + "unexpected ! flag before --match");
    CHECK(n.bad("-A INPUT -m statistic --mode nth --every 3") ==
          p + "statistic: option \"--every\" also requires \"--packet\".");
    CHECK(n.bad("-A INPUT -m statistic --mode nth --every 3 --packet 3") ==
          p + "the --packet p must be 0 <= p <= n-1");
    CHECK(n.bad("-A INPUT -m statistic --mode random") ==
          p + "--probability must be specified when using random mode");
    CHECK(n.bad("-A INPUT -m statistic --mode random --probability 2") ==
          p + "statistic: bad value for option \"--probability\", or out of range (0-1).");
    CHECK(n.bad("-A INPUT -m statistic --mode often") == p + "Bad mode \"often\"");
    CHECK(n.bad("-A INPUT -m statistic ! --mode nth") ==
          p + "statistic: option \"--mode\" cannot be inverted.");
    CHECK(n.bad("-A INPUT -m statistic --mode nth --every 0 --packet 0") ==
          p + "statistic: bad value for option \"--every\", or out of range (1-4294967295).");
    CHECK(n.bad("-A INPUT -m string --string x") ==
          p + "string: option \"--algo\" must be specified");
    CHECK(n.bad("-A INPUT -m string --algo bm") ==
          p + "STRING match: You must specify `--string' or `--hex-string'");
    CHECK(n.bad("-A INPUT -m string --hex-string '|4' --algo bm") ==
          p + "Odd number of hex digits");
    CHECK(n.bad("-A INPUT -m string --hex-string '|4|' --algo bm") == p + "Invalid hex block");
    CHECK(n.bad("-A INPUT -j REJECT --reject-with icmp-bogus") ==
          p + "unknown reject type \"icmp-bogus\"");
    CHECK(n.bad("-A INPUT -j LOG --log-level loud") == p + "log level \"loud\" unknown");
    CHECK(n.bad("-A INPUT -j LOG --log-prefix 012345678901234567890123456789") ==
          p + "Argument must have a maximum length of 29 characters");
    CHECK(n.bad("-A INPUT -j DROP --reject-with tcp-reset") ==
          p + "unknown option \"--reject-with\"");
    CHECK(n.bad("-A INPUT -A OUTPUT") == p + "Cannot use -A with -A");
    CHECK(n.bad("-D INPUT -L") == p + "Cannot use -L with -D");
    CHECK(n.bad("-s 1.1.1.1") == p + "no command specified");
    CHECK(n.bad("") == p + "no command specified");
    CHECK(n.bad("-L -s 1.1.1.1") == p + "Illegal option `--source' with this command");
    CHECK(n.bad("-A INPUT -n") == p + "Illegal option `--numeric' with this command");
    CHECK(n.bad("-I INPUT 0 -j DROP") == p + "Invalid rule number `0'");
    CHECK(n.bad("-R INPUT") == p + "-R requires a rule number");
    CHECK(n.bad("-P INPUT") == p + "-P requires a chain and a policy");
    CHECK(n.bad("-A INPUT -m string --string 'QUIT --algo bm") ==
          p + "unexpected EOF while looking for matching `''");
    CHECK(n.bad("-A INPUT -j FOO") == p + "Chain 'FOO' does not exist");
    CHECK(n.bad("-t nat -L", std::errc::no_such_file_or_directory) ==
          p + "table 'nat' does not exist");
    // What the kernel would refuse when the rule is committed.
    CHECK(n.bad("-A INPUT -j REJECT --reject-with tcp-reset") ==
          p + " RULE_APPEND failed (Invalid argument): rule in chain INPUT (ipt_REJECT: TCP_RESET "
              "invalid for non-tcp)");
    CHECK(n.bad("-A INPUT ! -p tcp -j REJECT --reject-with tcp-reset")
              .find("TCP_RESET invalid for non-tcp") != std::string::npos);
    CHECK(n.bad("-I INPUT -p udp -j REJECT --reject-with tcp-reset").find(" RULE_INSERT failed") !=
          std::string::npos);
    CHECK(n.bad("-t raw -A PREROUTING -j REJECT") ==
          p + " RULE_APPEND failed (Invalid argument): rule in chain PREROUTING (x_tables: "
              "ip_tables: REJECT target: "
              "used from hooks PREROUTING, but only usable from INPUT/FORWARD/OUTPUT)");
    CHECK(n.bad("-A INPUT -p udp -m tcp --dport 80").find("tcp match: only valid for protocol 6") !=
          std::string::npos);
    CHECK(n.bad("-A INPUT -m string --string x --algo fsm", std::errc::no_such_file_or_directory) ==
          p + " RULE_APPEND failed (No such file or directory): rule in chain INPUT (no textsearch "
              "algorithm `fsm')");
    // And what iptables reports about chains and rule numbers.
    CHECK(n.bad("-A PREROUTING -j DROP", std::errc::no_such_file_or_directory) ==
          "iptables: No chain/target/match by that name.");
    CHECK(n.bad("-L FOO", std::errc::no_such_file_or_directory) ==
          "iptables: No chain/target/match by that name.");
    CHECK(n.bad("-P FOO DROP", std::errc::no_such_file_or_directory) ==
          "iptables: Bad built-in chain name.");
    CHECK(n.bad("-P INPUT REJECT") ==
          "iptables: Bad policy name. Run `dmesg' for more information.");
    CHECK(n.bad("-D INPUT 5", std::errc::argument_list_too_long) ==
          "iptables: Index of deletion too big.");
    CHECK(n.bad("-I INPUT 3 -j DROP", std::errc::argument_list_too_long) ==
          "iptables: Index of insertion too big.");
    CHECK(n.bad("-R INPUT 2 -j DROP", std::errc::argument_list_too_long) ==
          "iptables: Index of replacement too big.");
    CHECK(n.bad("-D INPUT -s 1.2.3.4 -j DROP", std::errc::no_such_file_or_directory) ==
          "iptables: Bad rule (does a matching rule exist in that chain?).");
    CHECK(n.bad("-C INPUT -s 9.9.9.9 -j ACCEPT", std::errc::no_such_file_or_directory) ==
          "iptables: Bad rule (does a matching rule exist in that chain?).");
    CHECK(n.bad("-N MYCHAIN", std::errc::operation_not_supported).find("not modelled") !=
          std::string::npos);
    CHECK(n.state() ==
          "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-A INPUT -s 9.9.9.9/32 -j DROP\n"
          "-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n-A OUTPUT -p udp -j ACCEPT\n"
          "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
          "-P POSTROUTING ACCEPT\n");
}

// ---- the listing ----

TEST_CASE("iptables -L -n -v -x shows each rule's and each policy's packets and bytes",
          "[netfilter]") {
    Nf n;
    PingSocket sock(n.stack);
    n.ok("-A INPUT -p icmp --icmp-type echo-request -j ACCEPT");
    REQUIRE(ping(n, sock, 1));
    // INPUT: the request hit the rule, the reply the policy; OUTPUT saw both (84 bytes each).
    CHECK(n.ok("-L -n -v -x") ==
          "Chain INPUT (policy ACCEPT 1 packets, 84 bytes)\n"
          "    pkts      bytes target     prot opt in     out     source               destination "
          "        \n"
          "       1       84 ACCEPT     icmp --  *      *       0.0.0.0/0            0.0.0.0/0     "
          "       icmptype 8\n"
          "\n"
          "Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)\n"
          "    pkts      bytes target     prot opt in     out     source               destination "
          "        \n"
          "\n"
          "Chain OUTPUT (policy ACCEPT 2 packets, 168 bytes)\n"
          "    pkts      bytes target     prot opt in     out     source               destination "
          "        \n");
    n.ok("-A INPUT ! -s 127.0.0.0/8 -d 127.0.0.2 -p tcp --dport 80 -j REJECT");
    n.ok("-A INPUT -i lo -p tcp --syn -j LOG --log-prefix \"syn \"");
    n.ok("-A INPUT -p udp --sport 1000:2000 -m statistic --mode nth --every 2 --packet 1 -j DROP");
    n.ok("-A INPUT -p tcp -m string --string QUIT --algo bm -j REJECT --reject-with tcp-reset");
    CHECK(n.ok("-L INPUT -n --line-numbers") ==
          "Chain INPUT (policy ACCEPT)\n"
          "num  target     prot opt source               destination         \n"
          "1    ACCEPT     icmp --  0.0.0.0/0            0.0.0.0/0            icmptype 8\n"
          "2    REJECT     tcp  -- !127.0.0.0/8          127.0.0.2            tcp dpt:80 "
          "reject-with icmp-port-unreachable\n"
          "3    LOG        tcp  --  0.0.0.0/0            0.0.0.0/0            tcp flags:0x17/0x02 "
          "LOG flags 0 level 4 prefix \"syn \"\n"
          "4    DROP       udp  --  0.0.0.0/0            0.0.0.0/0            udp spts:1000:2000 "
          "statistic mode nth every 2 packet 1\n"
          "5    REJECT     tcp  --  0.0.0.0/0            0.0.0.0/0            STRING match  "
          "\"QUIT\" ALGO name bm reject-with tcp-reset\n");
    // Without -n: "anywhere", ICMP and flag names, LOG's level name.
    CHECK(n.ok("-L INPUT 1") ==
          "ACCEPT     icmp --  anywhere             anywhere             icmp echo-request\n");
    CHECK(n.ok("-L INPUT 3") ==
          "LOG        tcp  --  anywhere             anywhere             tcp "
          "flags:FIN,SYN,RST,ACK/SYN LOG level warning prefix \"syn \"\n");
    CHECK(n.ok("-L INPUT 3 -v").find(" lo     any    ") != std::string::npos);
    // -Z zeroes rules and policies; large numbers are abbreviated without -x.
    n.ok("-Z");
    CHECK(n.ok("-L OUTPUT -v -n") ==
          "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)\n"
          " pkts bytes target     prot opt in     out     source               destination         "
          "\n");
    for (std::uint16_t i = 0; i < 1300; ++i) REQUIRE(ping(n, sock, i));
    CHECK(n.ok("-L OUTPUT -v -n").find("(policy ACCEPT 2600 packets, 218K bytes)") !=
          std::string::npos);
    CHECK(n.ok("-L OUTPUT -v -n -x").find("(policy ACCEPT 2600 packets, 218400 bytes)") !=
          std::string::npos);
}

// ---- the seed's story: REJECT on lo, as Linux does it ----

TEST_CASE(
    "REJECT of everything from 127.0.0.1 times a TCP client out: the ICMP error is rejected too",
    "[netfilter]") {
    Nf n;
    TcpSocket listener(n.stack);
    REQUIRE_FALSE(listener.bind({kLo, 80}));
    REQUIRE_FALSE(listener.listen(8));
    n.ok("-A INPUT -s 127.0.0.1 -j REJECT");
    TcpSocket client(n.stack);
    Nanos took = 0;
    CHECK(connect_virtual(n, client, {kLo, 80}, took) == std::errc::timed_out);
    CHECK(took / kNsPerSec == 127);  // the SYN and tcp_syn_retries (6) retransmissions
    // Each SYN drew a port unreachable from 127.0.0.1, itself rejected: 14 packets, and the
    // second REJECT sent nothing, an ICMP error never being answered with one.
    CHECK(n.icmp(IcmpMib::OutDestUnreachs) == 7);
    CHECK(n.icmp(IcmpMib::InDestUnreachs) == 0);
    CHECK(n.nf_drops() == 14);
    // 7 SYNs of 60 bytes, 7 errors of 88 (20 + 8 + the quoted 60).
    CHECK(n.ok("-L INPUT -n -v -x")
              .find("      14     1036 REJECT     all  --  *      *       127.0.0.1 ") !=
          std::string::npos);
    CHECK(n.stack.tcp().stats().tcp.get(TcpMib::AttemptFails) == 1);
    CHECK(n.stack.tcp().stats().tcp.get(TcpMib::PassiveOpens) == 0);
}

TEST_CASE("REJECT of TCP to 127.0.0.2 refuses a client at its first SYN retransmission",
          "[netfilter]") {
    Nf n;
    TcpSocket listener(n.stack);
    REQUIRE_FALSE(listener.bind({kInaddrAny, 80}));
    REQUIRE_FALSE(listener.listen(8));
    n.ok("-A INPUT -d 127.0.0.2 -p tcp -j REJECT");
    TcpSocket client(n.stack);
    Nanos took = 0;
    // The first port unreachable arrives while connect() owns the socket: tcp_v4_err leaves it
    // (Linux keeps it as sk_err_soft and counts LockDroppedIcmps). The one the retransmitted
    // SYN draws finds the socket free and ends the attempt.
    CHECK(connect_virtual(n, client, {kLo2, 80}, took) == std::errc::connection_refused);
    CHECK(took == kNsPerSec);
    CHECK(n.icmp(IcmpMib::InDestUnreachs) == 2);
    CHECK(n.stack.tcp().stats().ext.get(TcpExtMib::LockDroppedIcmps) == 1);
    CHECK(n.stack.tcp().stats().tcp.get(TcpMib::AttemptFails) == 1);
    // 127.0.0.1 is not covered by the rule.
    TcpSocket other(n.stack);
    CHECK_FALSE(connect_virtual(n, other, {kLo, 80}, took));
    CHECK(took == 0);
}

TEST_CASE("an ICMP error that finds the socket owned is kept as the soft error", "[netfilter]") {
    Nf n;
    n.ok("-A INPUT -d 127.0.0.2 -p tcp -j REJECT");
    TcpSocket client(n.stack);
    // connect() holds the socket while its SYN goes out and the error comes back.
    REQUIRE(client.connect_start({kLo2, 80}) == std::errc::operation_in_progress);
    CHECK(client.sock().state == TcpState::syn_sent);
    CHECK(client.sock().soft_err == std::errc::connection_refused);
    CHECK(n.stack.tcp().stats().ext.get(TcpExtMib::LockDroppedIcmps) == 1);
}

TEST_CASE("REJECT with tcp-reset refuses a TCP client at once", "[netfilter]") {
    Nf n;
    n.ok("-A INPUT -d 127.0.0.2 -p tcp -j REJECT --reject-with tcp-reset");
    TcpSocket client(n.stack);
    Nanos took = 0;
    CHECK(connect_virtual(n, client, {kLo2, 80}, took) == std::errc::connection_refused);
    CHECK(took == 0);
    CHECK(n.stack.tcp().stats().tcp.get(TcpMib::OutRsts) == 0);  // netfilter's RST, not TCP's
}

TEST_CASE("each --reject-with gives the TCP client Linux's errno", "[netfilter]") {
    struct Case {
        const char* with;
        int err;
        const char* seen;  // what the client's side received, as LOG writes it
    };
    const Case cases[] = {
        {"icmp-net-unreachable", ENETUNREACH, "TYPE=3 CODE=0 "},
        {"icmp-host-unreachable", EHOSTUNREACH, "TYPE=3 CODE=1 "},
        {"icmp-proto-unreachable", ENOPROTOOPT, "TYPE=3 CODE=2 "},
        {"icmp-port-unreachable", ECONNREFUSED, "TYPE=3 CODE=3 "},
        {"icmp-net-prohibited", ENETUNREACH, "TYPE=3 CODE=9 "},
        {"icmp-host-prohibited", EHOSTUNREACH, "TYPE=3 CODE=10 "},
        {"icmp-admin-prohibited", EHOSTUNREACH, "TYPE=3 CODE=13 "},
        {"tcp-reset", ECONNREFUSED, "SPT=80 DPT="},
    };
    for (const Case& c : cases) {
        INFO(c.with);
        Nf n;
        TcpSocket listener(n.stack);
        REQUIRE_FALSE(listener.bind({kLo, 80}));
        REQUIRE_FALSE(listener.listen(8));
        n.ok(std::string("-A INPUT -p tcp --dport 80 -j REJECT --reject-with ") + c.with);
        n.ok("-I INPUT -p icmp -j LOG");
        n.ok("-I INPUT -p tcp --sport 80 -j LOG");
        TcpSocket client(n.stack);
        Nanos took = 0;
        CHECK(connect_virtual(n, client, {kLo, 80}, took) ==
              std::error_code(c.err, std::generic_category()));
        const bool rst = std::string(c.with) == "tcp-reset";
        CHECK(took == (rst ? 0 : kNsPerSec));
        if (!rst) CHECK(n.stack.snmp().icmp_out_type[3].load() == 2);
        if (!rst) CHECK(n.icmp(IcmpMib::OutDestUnreachs) == 2);
        const auto log = n.nf().log();
        REQUIRE_FALSE(log.empty());
        CHECK(log[0].text.find(c.seen) != std::string::npos);
        if (rst) CHECK(log[0].text.find(" RST URGP=0 ") != std::string::npos);
    }
}

TEST_CASE("each --reject-with reaches a connected UDP socket when icmp_err_convert calls it fatal",
          "[netfilter]") {
    struct Case {
        const char* with;
        int err;  // 0: not fatal, a socket without IP_RECVERR hears nothing
    };
    const Case cases[] = {
        {"icmp-net-unreachable", 0},
        {"icmp-host-unreachable", 0},
        {"icmp-proto-unreachable", ENOPROTOOPT},
        {"icmp-port-unreachable", ECONNREFUSED},
        {"icmp-net-prohibited", ENETUNREACH},
        {"icmp-host-prohibited", EHOSTUNREACH},
        {"icmp-admin-prohibited", EHOSTUNREACH},
    };
    for (const Case& c : cases) {
        INFO(c.with);
        Nf n;
        UdpSocket server(n.stack), client(n.stack);
        REQUIRE_FALSE(server.bind(kLo, 5353));
        REQUIRE_FALSE(client.connect(kLo, 5353));
        n.ok(std::string("-A INPUT -p udp --dport 5353 -j REJECT --reject-with ") + c.with);
        REQUIRE_FALSE(client.send(bytes("query")));
        Bytes buf(64);
        std::size_t got = 0;
        const std::error_code ec = client.recv(buf, got, n.clock.now_ns());
        if (c.err)
            CHECK(ec == std::error_code(c.err, std::generic_category()));
        else
            CHECK(ec == std::errc::resource_unavailable_try_again);
        CHECK(server.recv(buf, got, n.clock.now_ns()) == std::errc::resource_unavailable_try_again);
        CHECK(n.icmp(IcmpMib::InDestUnreachs) == 1);
    }
}

TEST_CASE("REJECT's replies pass the OUTPUT hook like any locally generated packet",
          "[netfilter]") {
    Nf n;
    SECTION("an ICMP error dropped in OUTPUT leaves the client to time out") {
        n.ok("-A INPUT -d 127.0.0.2 -p tcp -j REJECT");
        n.ok("-A OUTPUT -p icmp --icmp-type destination-unreachable -j DROP");
        TcpSocket client(n.stack);
        Nanos took = 0;
        CHECK(connect_virtual(n, client, {kLo2, 80}, took) == std::errc::timed_out);
        CHECK(n.ok("-L OUTPUT -n -v -x").find("       7      616 DROP       icmp") !=
              std::string::npos);
        CHECK(n.icmp(IcmpMib::InDestUnreachs) == 0);
    }
    SECTION("a RST dropped in OUTPUT leaves the client to time out") {
        n.ok("-A INPUT -d 127.0.0.2 -p tcp --syn -j REJECT --reject-with tcp-reset");
        n.ok("-A OUTPUT -p tcp --tcp-flags RST RST -j DROP");
        TcpSocket client(n.stack);
        Nanos took = 0;
        CHECK(connect_virtual(n, client, {kLo2, 80}, took) == std::errc::timed_out);
        CHECK(n.ok("-L OUTPUT -n -v -x").find("       7      280 DROP       tcp") !=
              std::string::npos);
    }
}

TEST_CASE("REJECT on the wire: the RST and the ICMP error carry what nf_reject_ipv4.c puts in",
          "[netfilter][wire]") {
    Nf n;
    test::WireDevice& eth = test::add_wire(n.stack);
    const Ipv4Address peer{198, 18, 0, 1}, us{198, 18, 0, 2};
    wire::TcpRepr syn;
    syn.src_port = 40000;
    syn.dst_port = 81;
    syn.seq = 1000;
    syn.flags = wire::kTcpSyn;
    syn.window = 64240;
    n.ok("-A INPUT -i eth0 -p tcp --dport 81 -j REJECT --reject-with tcp-reset");
    n.ok("-A INPUT -i eth0 -p tcp --dport 82 -j REJECT");
    test::inject(n.stack, eth, test::tcp_segment(peer, us, syn, bytes("abc")));
    REQUIRE(eth.sent.size() == 1);
    {
        const auto b = eth.sent[0]->bytes();
        Tins::IP ip(b.data(), static_cast<std::uint32_t>(b.size()));
        const auto& tcp = ip.rfind_pdu<Tins::TCP>();
        CHECK(ip.src_addr() == Tins::IPv4Address("198.18.0.2"));
        CHECK(ip.dst_addr() == Tins::IPv4Address("198.18.0.1"));
        CHECK(ip.ttl() == 64);
        CHECK(ip.id() == 0);
        CHECK(ip.tos() == 0);
        CHECK(ip.flags() == Tins::IP::DONT_FRAGMENT);
        CHECK(tcp.sport() == 81);
        CHECK(tcp.dport() == 40000);
        CHECK(tcp.seq() == 0);
        CHECK(tcp.ack_seq() == 1004);  // SEG.SEQ + the SYN + 3 bytes of data
        CHECK(tcp.flags() == (Tins::TCP::RST | Tins::TCP::ACK));
        CHECK(tcp.window() == 0);
        CHECK(wire::tcp_checksum(us, peer, b.subspan(20)) == 0);  // no offload on eth0: a full sum
    }
    // With an ACK the RST takes its number; a RST, or a bad checksum, gets nothing.
    syn.flags = wire::kTcpAck;
    syn.ack = 777;
    test::inject(n.stack, eth, test::tcp_segment(peer, us, syn));
    REQUIRE(eth.sent.size() == 2);
    {
        const auto b = eth.sent[1]->bytes();
        Tins::IP ip(b.data(), static_cast<std::uint32_t>(b.size()));
        CHECK(ip.rfind_pdu<Tins::TCP>().seq() == 777);
        CHECK(ip.rfind_pdu<Tins::TCP>().flags() == Tins::TCP::RST);
    }
    syn.flags = wire::kTcpRst;
    test::inject(n.stack, eth, test::tcp_segment(peer, us, syn));
    syn.flags = wire::kTcpSyn;
    auto corrupt = test::tcp_segment(peer, us, syn);
    corrupt[36] ^= 0xff;  // the TCP checksum
    test::inject(n.stack, eth, corrupt);
    CHECK(eth.sent.size() == 2);
    CHECK(n.nf_drops() == 4);
    // The ICMP variant quotes the datagram, from the address it was sent to.
    syn.dst_port = 82;
    const auto seg = test::tcp_segment(peer, us, syn);
    test::inject(n.stack, eth, seg);
    REQUIRE(eth.sent.size() == 3);
    const auto b = eth.sent[2]->bytes();
    Tins::IP ip(b.data(), static_cast<std::uint32_t>(b.size()));
    const auto& icmp = ip.rfind_pdu<Tins::ICMP>();
    CHECK(ip.src_addr() == Tins::IPv4Address("198.18.0.2"));
    CHECK(icmp.type() == Tins::ICMP::DEST_UNREACHABLE);
    CHECK(icmp.code() == 3);
    CHECK(Bytes(b.begin() + 28, b.end()) == seg);
}

// ---- DROP, policies, counters ----

TEST_CASE("DROP of ICMP stops echo replies and counts them and -D brings them back",
          "[netfilter]") {
    Nf n;
    PingSocket sock(n.stack);
    REQUIRE(ping(n, sock, 1));
    n.ok("-A INPUT -p icmp -j DROP");
    CHECK_FALSE(ping(n, sock, 2));
    CHECK_FALSE(ping(n, sock, 3));
    CHECK(n.nf_drops() == 2);
    CHECK(n.icmp(IcmpMib::InEchos) == 1);  // only the first request reached icmp_rcv
    CHECK(n.ok("-L INPUT -n -v -x")
              .find("       2      168 DROP       icmp --  *      *       0.0.0.0/0") !=
          std::string::npos);
    n.ok("-D INPUT -p icmp -j DROP");
    CHECK(ping(n, sock, 4));
    CHECK(n.nf_drops() == 2);
    SECTION("in OUTPUT the sender hears EPERM") {
        n.ok("-A OUTPUT -o lo -p icmp -j DROP");
        CHECK(sock.send_echo(kLo, 5, bytes("x")) == std::errc::operation_not_permitted);
    }
    SECTION("in raw PREROUTING and mangle POSTROUTING too") {
        n.ok("-t raw -A PREROUTING -p icmp --icmp-type echo-reply -j DROP");
        CHECK_FALSE(ping(n, sock, 5));
        CHECK(n.icmp(IcmpMib::InEchos) == 3);  // the request got through, its reply did not
        n.ok("-t raw -F");
        n.ok("-t mangle -A POSTROUTING -p icmp -j DROP");
        CHECK(sock.send_echo(kLo, 6, bytes("x")) == std::errc::operation_not_permitted);
    }
}

TEST_CASE("iptables -P INPUT DROP drops what no rule accepts and counts it on the policy",
          "[netfilter]") {
    Nf n;
    PingSocket sock(n.stack);
    n.ok("-P INPUT DROP");
    CHECK_FALSE(ping(n, sock, 1));
    CHECK(n.ok("-L INPUT -v -x").find("(policy DROP 1 packets, 84 bytes)") != std::string::npos);
    n.ok("-A INPUT -i lo -j ACCEPT");
    CHECK(ping(n, sock, 2));
    CHECK(n.ok("-L INPUT -v -x").find("(policy DROP 1 packets, 84 bytes)") != std::string::npos);
    n.ok("-F");
    CHECK_FALSE(ping(n, sock, 3));
    n.ok("-P INPUT ACCEPT");
    CHECK(ping(n, sock, 4));
    CHECK(n.nf_drops() == 2);
}

TEST_CASE("with every table empty and ACCEPT the hooks cost nothing and count nothing",
          "[netfilter]") {
    Nf n;
    PingSocket sock(n.stack);
    n.ok("-A OUTPUT -j ACCEPT");
    REQUIRE(ping(n, sock, 1));
    CHECK(n.ok("-L INPUT -v").find("(policy ACCEPT 2 packets, 168 bytes)") != std::string::npos);
    n.ok("-D OUTPUT 1");  // inert again: unhooked, as a table never instantiated
    REQUIRE(ping(n, sock, 2));
    CHECK(n.ok("-L INPUT -v").find("(policy ACCEPT 2 packets, 168 bytes)") != std::string::npos);
}

// ---- matches at work ----

TEST_CASE("statistic nth drops every third packet from the chosen start", "[netfilter]") {
    Nf n;
    PingSocket sock(n.stack);
    n.ok(
        "-A INPUT -p icmp --icmp-type echo-request -m statistic --mode nth --every 3 --packet 0 -j "
        "DROP");
    n.ok(
        "-A INPUT -p icmp --icmp-type echo-request -m statistic --mode nth --every 3 --packet 2 -j "
        "LOG");
    std::string answered;
    for (std::uint16_t i = 1; i <= 9; ++i) answered += ping(n, sock, i) ? 'y' : '-';
    CHECK(answered == "-yy-yy-yy");
    // The second rule sees only what the first let through: its counter starts at 0, so the
    // third packet it sees is logged first (every - packet = 0, then 1, 2, 0).
    CHECK(n.nf().log().size() == 2);
    CHECK(n.ok("-L INPUT -n -v -x").find("       3      252 DROP") != std::string::npos);
}

TEST_CASE("statistic random is repeatable from the table's seed", "[netfilter]") {
    auto run = [](std::uint64_t seed) {
        Nf n;
        n.nf().seed(seed);
        PingSocket sock(n.stack);
        n.ok(
            "-A INPUT -p icmp --icmp-type echo-request -m statistic --mode random --probability "
            "0.5 -j DROP");
        std::string pattern;
        for (std::uint16_t i = 1; i <= 64; ++i) pattern += ping(n, sock, i) ? 'y' : '-';
        CHECK(n.nf_drops() ==
              static_cast<std::uint64_t>(std::count(pattern.begin(), pattern.end(), '-')));
        return pattern;
    };
    const std::string a = run(42), b = run(42), c = run(7);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(a.find('y') != std::string::npos);
    CHECK(a.find('-') != std::string::npos);
    Nf n;
    PingSocket sock(n.stack);
    n.ok("-A INPUT -p icmp -m statistic --mode random --probability 1 -j DROP");
    n.ok("-I INPUT -p icmp -m statistic --mode random --probability 0 -j ACCEPT");
    CHECK_FALSE(ping(n, sock, 1));
}

TEST_CASE("string matches drop the segment carrying QUIT or reset its sender", "[netfilter]") {
    Nf n;
    Pair p(n, {kLo, 110});
    std::size_t sent = 0;
    SECTION("DROP: the segment is lost until the rule goes, then retransmitted") {
        n.ok("-A INPUT -p tcp --dport 110 -m string --string QUIT --algo bm -j DROP");
        REQUIRE_FALSE(p.client.send(bytes("USER bob\r\n"), sent));
        CHECK(recv_now(*p.server) == "USER bob\r\n");
        REQUIRE_FALSE(p.client.send(bytes("QUIT\r\n"), sent));
        CHECK(recv_now(*p.server).empty());
        n.advance(500 * kNsPerMs);
        CHECK(recv_now(*p.server).empty());
        CHECK(n.nf_drops() >= 2);  // the segment and its retransmission
        n.ok("-D INPUT 1");
        n.advance(2 * kNsPerSec);
        CHECK(recv_now(*p.server) == "QUIT\r\n");
    }
    SECTION("kmp ignoring case with tcp-reset: the client is reset and the server never sees it") {
        n.ok(
            "-A INPUT -p tcp --dport 110 -m string --string quit --algo kmp --icase -j REJECT "
            "--reject-with tcp-reset");
        REQUIRE_FALSE(p.client.send(bytes("QUIT\r\n"), sent));
        std::error_code err;
        recv_now(p.client, &err);
        CHECK(err == std::errc::connection_reset);
        CHECK(p.client.state() == TcpState::close);
        CHECK(recv_now(*p.server).empty());
        CHECK(p.server->state() == TcpState::established);
    }
    SECTION("--from past the headers finds nothing in them") {
        // The pattern is the client's port in network order; the headers hold it, the data not.
        const std::uint16_t port = p.client.local_address().port;
        char hex[16];
        std::snprintf(hex, sizeof hex, "|%02x%02x|", port >> 8, port & 0xff);
        n.ok(std::string("-A INPUT -p tcp --dport 110 -m string --hex-string '") + hex +
             "' --algo bm --from 52 -j DROP");
        n.ok(std::string("-A INPUT -p tcp --dport 110 -m string --hex-string '") + hex +
             "' --algo bm --to 22");
        REQUIRE_FALSE(p.client.send(bytes("hello"), sent));
        CHECK(recv_now(*p.server) == "hello");
        CHECK(n.ok("-S INPUT 2").find("--to 22") != std::string::npos);
        CHECK(n.ok("-L INPUT -n -v -x").find("       1       57            tcp") !=
              std::string::npos);
    }
}

TEST_CASE("iptables -i and -o match lo and the wire device by name and by prefix", "[netfilter]") {
    Nf n;
    test::WireDevice& eth = test::add_wire(n.stack);
    PingSocket sock(n.stack);
    const Ipv4Address peer{198, 18, 0, 1}, us{198, 18, 0, 2};
    auto echo_from_wire = [&](std::uint16_t seq) {
        const std::size_t before = eth.sent.size();
        test::inject(n.stack, eth, test::echo_request(peer, us, 7, seq));
        return eth.sent.size() > before;
    };
    REQUIRE(echo_from_wire(1));
    n.ok("-A INPUT -i eth+ -p icmp -j DROP");
    CHECK_FALSE(echo_from_wire(2));
    CHECK(ping(n, sock, 1));  // lo is not eth+
    n.ok("-R INPUT 1 ! -i lo -p icmp -j DROP");
    CHECK_FALSE(echo_from_wire(3));
    CHECK(ping(n, sock, 2));
    n.ok("-F");
    n.ok("-A OUTPUT -o eth0 -j DROP");
    CHECK_FALSE(echo_from_wire(4));  // the reply is dropped on its way out
    CHECK(ping(n, sock, 3));
    n.ok("-A OUTPUT -o lo -p icmp --icmp-type echo-reply -j DROP");
    CHECK_FALSE(ping(n, sock, 4));
    CHECK(n.icmp(IcmpMib::OutErrors) == 2);  // icmp_push_reply saw ip_local_out fail twice
}

TEST_CASE("iptables --syn and --tcp-flags tell new connections and FINs from the rest",
          "[netfilter]") {
    Nf n;
    Pair p(n, {kLo, 80});
    n.ok("-A INPUT -p tcp --dport 80 --syn -j DROP");
    std::size_t sent = 0;
    REQUIRE_FALSE(p.client.send(bytes("still flowing"), sent));
    CHECK(recv_now(*p.server) == "still flowing");
    TcpSocket late(n.stack);
    Nanos took = 0;
    CHECK(connect_virtual(n, late, {kLo, 80}, took, 2500 * kNsPerMs) ==
          std::errc::operation_in_progress);
    CHECK(n.ok("-L INPUT -n -v -x").find("       2      120 DROP       tcp") !=
          std::string::npos);  // SYN + 1 retry
    n.ok("-F");
    n.ok("-A INPUT -p tcp --tcp-flags FIN,RST FIN -j DROP");
    REQUIRE_FALSE(p.client.shutdown(Shutdown::write));
    std::error_code err;
    recv_now(*p.server, &err);
    CHECK(err == std::errc::resource_unavailable_try_again);  // the FIN never came
    n.ok("-F");
    n.advance(1 * kNsPerSec);  // the FIN's retransmission gets through
    recv_now(*p.server, &err);
    CHECK_FALSE(err);  // end of stream
}

TEST_CASE("iptables --sport and --dport ranges and negation pick datagrams by port and address",
          "[netfilter]") {
    Nf n;
    UdpSocket server(n.stack), client(n.stack), client2(n.stack);
    REQUIRE_FALSE(server.bind(kInaddrAny, 5005));
    REQUIRE_FALSE(client.bind(kLo, 4000));
    REQUIRE_FALSE(client2.bind(kLo2, 4500));
    auto arrives = [&](UdpSocket& from, Ipv4Address to, std::uint16_t port) {
        UdpSocket rx(n.stack);
        UdpSocket& sink = port == 5005 ? server : rx;
        if (port != 5005) REQUIRE_FALSE(rx.bind(kInaddrAny, port));
        REQUIRE_FALSE(from.sendto(to, port, bytes("datagram")));
        Bytes buf(64);
        std::size_t got = 0;
        return !sink.recv(buf, got, n.clock.now_ns());
    };
    n.ok("-A INPUT -p udp --dport 5000:5010 -j DROP");
    CHECK_FALSE(arrives(client, kLo, 5005));
    CHECK(arrives(client, kLo, 5011));
    n.ok("-R INPUT 1 -p udp ! --dport 5000:5010 -j DROP");
    CHECK(arrives(client, kLo, 5005));
    CHECK_FALSE(arrives(client, kLo, 5011));
    n.ok("-R INPUT 1 -p udp --sport 3000:4000 -j DROP");
    CHECK_FALSE(arrives(client, kLo, 5005));
    CHECK(arrives(client2, kLo, 5005));
    n.ok("-R INPUT 1 ! -s 127.0.0.1 -p udp -j DROP");
    CHECK(arrives(client, kLo, 5005));
    CHECK_FALSE(arrives(client2, kLo, 5005));
    n.ok("-R INPUT 1 ! -d 127.0.0.0/31 -p udp -j DROP");
    CHECK(arrives(client, kLo, 5005));
    CHECK_FALSE(arrives(client, Ipv4Address{127, 0, 0, 9}, 5005));
    n.ok("-R INPUT 1 ! -p udp -j DROP");
    CHECK(arrives(client, kLo, 5005));
}

// ---- LOG ----

TEST_CASE("LOG writes nf_log's line and the packet goes on to the next rule", "[netfilter]") {
    Nf n;
    PingSocket sock(n.stack);
    std::vector<std::string> seen;
    n.nf().set_log_callback([&](int, std::string_view line) { seen.emplace_back(line); });
    n.ok("-A INPUT -p icmp -j LOG --log-prefix \"ping: \" --log-level info");
    n.ok("-A OUTPUT -p icmp --icmp-type echo-request -j LOG");
    REQUIRE(ping(n, sock, 9));
    const auto log = n.nf().log();
    REQUIRE(log.size() == 3);  // the request out, the request in, the reply in
    CHECK(log[0].level == 4);
    CHECK(log[1].level == 6);
    const std::string id = std::to_string(sock.ident());
    CHECK(std::regex_match(
        log[0].text,
        std::regex("IN= OUT=lo SRC=127\\.0\\.0\\.1 DST=127\\.0\\.0\\.1 LEN=84 TOS=0x00 "
                   "PREC=0x00 TTL=64 ID=[0-9]+ DF PROTO=ICMP TYPE=8 CODE=0 ID=" +
                   id + " SEQ=9 ")));
    CHECK(std::regex_match(
        log[1].text, std::regex("ping: IN=lo OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 "
                                "SRC=127\\.0\\.0\\.1 DST=127\\.0\\.0\\.1 LEN=84 TOS=0x00 PREC=0x00 "
                                "TTL=64 ID=[0-9]+ DF PROTO=ICMP TYPE=8 CODE=0 ID=" +
                                id + " SEQ=9 ")));
    CHECK(log[2].text.find("PROTO=ICMP TYPE=0 CODE=0 ID=" + id + " SEQ=9 ") != std::string::npos);
    CHECK(seen.size() == 3);
    CHECK(seen[1] == log[1].text);

    SECTION("TCP with sequence numbers, and an ICMP error with the datagram it quotes") {
        n.ok("-F");
        n.ok("-A INPUT -p tcp --dport 81 -j LOG --log-tcp-sequence");
        n.ok("-A INPUT -p tcp --dport 81 -j REJECT");
        n.ok("-A INPUT -p icmp -j LOG");
        TcpSocket client(n.stack);
        client.connect_start({kLo, 81});
        const auto lines = n.nf().log();
        REQUIRE(lines.size() == 5);
        CHECK(std::regex_search(
            lines[3].text, std::regex("PROTO=TCP SPT=[0-9]+ DPT=81 SEQ=[0-9]+ ACK=0 WINDOW=[0-9]+ "
                                      "RES=0x00 SYN URGP=0 $")));
        CHECK(std::regex_search(
            lines[4].text,
            std::regex("PROTO=ICMP TYPE=3 CODE=3 \\[SRC=127\\.0\\.0\\.1 DST=127\\.0\\.0\\.1 "
                       "LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=[0-9]+ DF PROTO=TCP "
                       "SPT=[0-9]+ DPT=81 WINDOW=[0-9]+ RES=0x00 SYN URGP=0 \\] $")));
        CHECK(lines[4].text.find("TOS=0x00 PREC=0xC0") !=
              std::string::npos);  // the error's own TOS
    }
}

// ---- changing rules while packets flow ----

TEST_CASE("rules change from another thread while packets flow and every packet is accounted for",
          "[netfilter]") {
    Nf n;
    PingSocket sock(n.stack);
    std::atomic<bool> stop{false};
    std::thread changer([&] {
        for (int i = 0; i < 300 && !stop.load(); ++i) {
            std::string msg;
            frontend::iptables(n.nf(), "-A INPUT -p icmp --icmp-type echo-request -j DROP", &msg);
            frontend::iptables(n.nf(), "-I INPUT -p udp -j ACCEPT", &msg);
            frontend::iptables(n.nf(), "-D INPUT -p icmp --icmp-type echo-request -j DROP", &msg);
            frontend::iptables(n.nf(), "-F INPUT", &msg);
        }
    });
    int answered = 0;
    constexpr int kPings = 2000;
    for (int i = 0; i < kPings; ++i)
        answered += ping(n, sock, static_cast<std::uint16_t>(i)) ? 1 : 0;
    stop = true;
    changer.join();
    CHECK(static_cast<std::uint64_t>(answered) + n.nf_drops() == kPings);
}
