#include "stack/testing/fixture.hpp"

#include <sstream>
#include <stdexcept>

#include "frontend/iptables.hpp"
#include "frontend/netem_words.hpp"

namespace vlo::testing {

namespace {
StackConfig config_for(WorkerKind worker, std::uint64_t seed) {
    StackConfig c;
    c.core.worker = worker;
    c.seed = seed;
    return c;
}
}  // namespace

Fixture::Fixture(WorkerKind worker, std::uint64_t seed)
    : stack_(std::make_unique<Stack>(config_for(worker, seed), clock_)) {}

Fixture& Fixture::iptables(std::string_view rule) {
    std::string message;
    if (frontend::iptables(stack_->netfilter(), rule, &message))
        throw std::invalid_argument(message);
    return *this;
}

Fixture& Fixture::netem(std::string_view dev, std::string_view options, std::uint64_t seed) {
    NetemParseResult parsed = parse_netem(options);
    if (!parsed.spec) throw std::invalid_argument(parsed.error);
    parsed.spec->seed = seed;
    if (stack_->qdisc_netem(dev, QdiscOp::replace, *parsed.spec))
        throw std::invalid_argument("Cannot find device \"" + std::string(dev) + "\"");
    return *this;
}

std::unique_ptr<TcpSocket> Fixture::listen(std::string_view addr, std::uint16_t port, int backlog) {
    auto a = Ipv4Address::parse(addr);
    if (!a) throw std::invalid_argument("not an IPv4 address: " + std::string(addr));
    auto s = std::make_unique<TcpSocket>(*stack_);
    if (std::error_code ec = s->bind({*a, port})) throw std::system_error(ec, "bind");
    if (std::error_code ec = s->listen(backlog)) throw std::system_error(ec, "listen");
    return s;
}

Fixture::Connection Fixture::connect(TcpSocket& listener, std::string_view addr,
                                     std::uint16_t port) {
    auto a = Ipv4Address::parse(addr);
    if (!a) throw std::invalid_argument("not an IPv4 address: " + std::string(addr));
    Connection c{std::make_unique<TcpSocket>(*stack_), nullptr};
    if (std::error_code ec = c.client->connect_start({*a, port});
        ec != std::errc::operation_in_progress)
        throw std::system_error(ec, "connect");
    const bool accepted = wait_until(
        [&] {
            std::error_code ec;
            if (!c.server) c.server = listener.try_accept(ec);
            return c.server != nullptr;
        },
        10 * kNsPerSec);
    if (!accepted) throw std::system_error(std::make_error_code(std::errc::timed_out), "accept");
    return c;
}

bool Fixture::wait_until(const std::function<bool()>& pred, Nanos limit, Nanos step,
                         const std::function<void()>& poll) {
    const Nanos end = clock_.now_ns() + limit;
    for (;;) {
        if (poll) poll();
        if (pred()) return true;
        if (clock_.now_ns() >= end) return false;
        clock_.advance(step);  // runs the timers that fall due on the way
    }
}

bool Fixture::wait_for_change(const std::function<std::uint64_t()>& counter, Nanos limit, Nanos step,
                              const std::function<void()>& poll) {
    const std::uint64_t before = counter();
    return wait_until([&] { return counter() != before; }, limit, step, poll);
}

std::uint64_t Fixture::counter(std::string_view nstat_name) const {
    // /proc/net/snmp's pairs of lines: "Tcp: ... RetransSegs ..." / "Tcp: ... 12 ...".
    std::istringstream in(stack_->snmp_text());
    std::string names, values;
    while (std::getline(in, names) && std::getline(in, values)) {
        std::istringstream n(names), v(values);
        std::string group, name, value;
        n >> group;
        v >> value;
        group.pop_back();
        while (n >> name && v >> value)
            if (group + name == nstat_name) return std::stoull(value);
    }
    return 0;
}

}  // namespace vlo::testing
