// vlo as a test double for other people's network code: a stack with lo on a virtual clock,
// rules in iptables' words, impairments in tc-netem's, listeners, and waits that move virtual
// time until something happens. A 2-minute TCP timeout takes no real time.
//
//   vlo::testing::Fixture f;
//   f.iptables("-A INPUT -d 127.0.0.2 -p tcp -j REJECT");
//   f.netem("lo", "delay 10ms loss 1%");
//   auto server = f.listen("127.0.0.1", 8080);
//   ... run the code under test against f.stack() ...
//   REQUIRE(f.wait_until([&] { return done; }, 5 * vlo::kNsPerSec));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "stack/stack.hpp"
#include "stack/tcp_socket.hpp"

namespace vlo::testing {

class Fixture {
public:
  // Inline processing (no threads) unless a test wants a worker design's threads too. Every
  // random choice of the stack comes from `seed`: the same seed, the same bytes.
  explicit Fixture(WorkerKind worker = WorkerKind::inline_, std::uint64_t seed = 1);

  Stack& stack() { return *stack_; }
  VirtualClock& clock() { return clock_; }
  Nanos now() const { return clock_.now_ns(); }

  // One iptables command for the stack; throws std::invalid_argument with iptables' message.
  Fixture& iptables(std::string_view rule);
  // tc-netem's options on a device's transmit ("delay 10ms loss 5%"), seeded. Before traffic.
  Fixture& netem(std::string_view dev, std::string_view options, std::uint64_t seed = 1);

  // A listening TCP socket on addr:port (throws std::system_error if the bind fails).
  std::unique_ptr<TcpSocket> listen(std::string_view addr, std::uint16_t port, int backlog = 16);
  // A client on an ephemeral port connected to `listener` (bound to addr:port), and the server
  // side the listener accepted, moving virtual time until it did (throws after 10 s).
  struct Connection {
      std::unique_ptr<TcpSocket> client, server;
  };
  Connection connect(TcpSocket& listener, std::string_view addr, std::uint16_t port);

  // Moves virtual time on by `by`, running every timer that falls due on the way.
  void advance(Nanos by) { clock_.advance(by); }
  // Moves virtual time on in `step`s, running the timers that come due and `poll` (an
  // io_context's poll, say) between steps, until pred() holds or `limit` of virtual time has
  // passed. Returns pred().
  bool wait_until(const std::function<bool()>& pred, Nanos limit, Nanos step = kNsPerMs,
                  const std::function<void()>& poll = {});
  // Until `counter` changes from its value now; e.g. [&] { return f.counter("TcpRetransSegs"); }.
  bool wait_for_change(const std::function<std::uint64_t()>& counter, Nanos limit,
                       Nanos step = kNsPerMs, const std::function<void()>& poll = {});
  // A counter by its nstat name ("TcpRetransSegs", "IpInReceives", "IcmpOutDestUnreachs"); 0
  // if there is none by that name.
  std::uint64_t counter(std::string_view nstat_name) const;

private:
    VirtualClock clock_;
    std::unique_ptr<Stack> stack_;
};

}  // namespace vlo::testing
