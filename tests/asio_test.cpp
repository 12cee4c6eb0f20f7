// The Boost.Asio adapter: generic Asio code (async_read, async_write, completion tokens)
// written only against AsyncReadStream/AsyncWriteStream runs unchanged over the kernel's TCP on
// 127.0.0.1 and over vlo's TcpStream, and both give the same answers. Every io_context run is
// bounded in time, so a hang fails instead of blocking.
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <utility>  // before Asio: 1.74's awaitable.hpp uses std::exchange unincluded
#include <vector>

#include <boost/asio.hpp>
#include <catch2/catch.hpp>

#include "stack/asio/asio_tcp.hpp"
#include "test_util.hpp"

namespace asio = boost::asio;
using boost::system::error_code;
using vlo::asio_adapter::TcpAcceptor;
using vlo::asio_adapter::TcpStream;
using namespace std::chrono_literals;
using namespace vlo;

namespace {

constexpr auto kLimit = 10s;  // bound on every io_context run

std::vector<std::uint8_t> pattern(std::size_t n, std::uint32_t seed = 1) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> v(n);
    for (auto& b : v) b = static_cast<std::uint8_t>(rng());
    return v;
}

StackConfig with_worker(WorkerKind w) {
    StackConfig c;
    c.core.worker = w;
    return c;
}

// ---- generic code: only the Asio stream concepts, nothing vlo- or kernel-specific ----

struct EchoResult {
    error_code write_ec, read_ec;
    std::size_t written = 0, read = 0;
    std::vector<std::uint8_t> reply;
    int completions = 0;
    bool on_loop_thread = true;  // every handler ran on the thread running the io_context
};

// Sends msg and reads back as many bytes. Writing and reading run at once: a message larger
// than both sides' buffers would stall a client that read only after writing everything.
template <class AsyncStream, class Done>
void echo_client(AsyncStream& stream, const std::vector<std::uint8_t>& msg, EchoResult& r,
                 Done done) {
    r.reply.assign(msg.size(), 0);
    const auto loop_thread = std::this_thread::get_id();
    auto finish = [&r, done, loop_thread] {
        r.on_loop_thread = r.on_loop_thread && std::this_thread::get_id() == loop_thread;
        if (++r.completions == 2) done();
    };
    asio::async_write(stream, asio::buffer(msg), [&r, finish](error_code ec, std::size_t n) {
        r.write_ec = ec;
        r.written = n;
        finish();
    });
    asio::async_read(stream, asio::buffer(r.reply), asio::transfer_exactly(msg.size()),
                     [&r, finish](error_code ec, std::size_t n) {
                         r.read_ec = ec;
                         r.read = n;
                         finish();
                     });
}

struct ServerStats {
    int accepted = 0;
    int eofs = 0;  // sessions that ended with asio::error::eof
    std::size_t echoed = 0;
    error_code error;  // anything else
};

template <class Socket>
class EchoSession : public std::enable_shared_from_this<EchoSession<Socket>> {
public:
    EchoSession(Socket s, ServerStats& st) : sock_(std::move(s)), st_(st) {}
    void read() {
        sock_.async_read_some(asio::buffer(buf_),
                              [self = this->shared_from_this()](error_code ec, std::size_t n) {
                                  self->echo(ec, n);
                              });
    }

private:
    void echo(error_code ec, std::size_t n) {
        if (ec == asio::error::eof) return void(++st_.eofs);
        if (ec) return void(st_.error = ec);
        asio::async_write(sock_, asio::buffer(buf_.data(), n),
                          [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              if (ec) return void(self->st_.error = ec);
                              self->st_.echoed += n;
                              self->read();
                          });
    }

    Socket sock_;
    ServerStats& st_;
    std::array<std::uint8_t, 65536> buf_{};
};

// Accepts `sessions` connections and echoes on each; with no accept left pending, the
// io_context runs out of work once the sessions end.
template <class Acceptor>
void serve(Acceptor& acc, ServerStats& st, int sessions) {
    acc.async_accept([&acc, &st, sessions](error_code ec, auto sock) {
        if (ec) return void(st.error = ec);
        ++st.accepted;
        std::make_shared<EchoSession<decltype(sock)>>(std::move(sock), st)->read();
        if (sessions > 1) serve(acc, st, sessions - 1);
    });
}

// The two networks, so one scenario runs over both.
struct KernelNet {
    using Acceptor = asio::ip::tcp::acceptor;
    using Socket = asio::ip::tcp::socket;
    asio::io_context& ioc;
    Acceptor listen() { return Acceptor(ioc, {asio::ip::make_address_v4("127.0.0.1"), 0}); }
    Socket socket() { return Socket(ioc); }
    static asio::ip::tcp::endpoint endpoint(Acceptor& a) { return a.local_endpoint(); }
};

struct VloNet {
    using Acceptor = TcpAcceptor;
    using Socket = TcpStream;
    asio::io_context& ioc;
    Stack& stack;
    Acceptor listen() { return Acceptor(ioc, stack, {kInaddrLoopback, 0}); }
    Socket socket() { return Socket(ioc, stack); }
    static SockAddr endpoint(Acceptor& a) { return a.local_endpoint(); }
};

struct EchoRun {
    error_code connect_ec;
    EchoResult client;
    ServerStats server;
    bool out_of_work = false;  // the io_context ran dry: nothing was left pending
};

template <class Net>
EchoRun run_echo(Net net, const std::vector<std::uint8_t>& msg) {
    EchoRun run;
    auto acceptor = net.listen();
    serve(acceptor, run.server, 1);
    auto client = net.socket();
    client.async_connect(Net::endpoint(acceptor), [&](error_code ec) {
        run.connect_ec = ec;
        if (!ec) echo_client(client, msg, run.client, [&client] { client.close(); });
    });
    net.ioc.run_for(kLimit);
    run.out_of_work = net.ioc.stopped();
    return run;
}

void check_same(const EchoRun& vlo, const EchoRun& kernel) {
    CHECK(vlo.connect_ec == kernel.connect_ec);
    CHECK(vlo.client.write_ec == kernel.client.write_ec);
    CHECK(vlo.client.read_ec == kernel.client.read_ec);
    CHECK(vlo.client.written == kernel.client.written);
    CHECK(vlo.client.read == kernel.client.read);
    CHECK(vlo.client.reply == kernel.client.reply);
    CHECK(vlo.client.completions == kernel.client.completions);
    CHECK(vlo.client.on_loop_thread == kernel.client.on_loop_thread);
    CHECK(vlo.server.accepted == kernel.server.accepted);
    CHECK(vlo.server.eofs == kernel.server.eofs);
    CHECK(vlo.server.echoed == kernel.server.echoed);
    CHECK(vlo.server.error == kernel.server.error);
    CHECK(vlo.out_of_work == kernel.out_of_work);
}

// Peer writes a few bytes and closes; the client asks for more than that, then reads again.
struct EofRun {
    error_code connect_ec, read_ec, again_ec;
    std::size_t read = 0, again = 1;
    std::string got;
    bool done = false;
};

template <class Net>
EofRun run_eof(Net net) {
    EofRun r;
    auto acceptor = net.listen();
    auto client = net.socket();
    std::optional<typename Net::Socket> server;
    static const std::string bye = "bye";
    acceptor.async_accept([&](error_code ec, auto s) {
        if (ec) return;
        server.emplace(std::move(s));
        asio::async_write(*server, asio::buffer(bye), [&](error_code, std::size_t) {
            server->close();
        });
    });
    std::array<char, 16> buf{};
    client.async_connect(Net::endpoint(acceptor), [&](error_code ec) {
        r.connect_ec = ec;
        asio::async_read(client, asio::buffer(buf), [&](error_code ec, std::size_t n) {
            r.read_ec = ec;
            r.read = n;
            r.got.assign(buf.data(), n);
            client.async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t n) {
                r.again_ec = ec;
                r.again = n;
                r.done = true;
            });
        });
    });
    net.ioc.run_for(kLimit);
    return r;
}

// A connected vlo pair, made with the adapter itself.
struct Pair {
    std::optional<TcpStream> client, server;
};

void connect_pair(asio::io_context& ioc, Stack& stack, TcpAcceptor& acc, Pair& p) {
    bool accepted = false, connected = false;
    p.client.emplace(ioc, stack);
    acc.async_accept([&](error_code ec, TcpStream s) {
        REQUIRE_FALSE(ec);
        p.server.emplace(std::move(s));
        accepted = true;
    });
    p.client->async_connect(acc.local_endpoint(), [&](error_code ec) {
        REQUIRE_FALSE(ec);
        connected = true;
    });
    ioc.run_for(kLimit);
    ioc.restart();
    REQUIRE(accepted);
    REQUIRE(connected);
}

EchoRun kernel_echo(const std::vector<std::uint8_t>& msg) {
    asio::io_context ioc;
    EchoRun kernel = run_echo(KernelNet{ioc}, msg);
    // The kernel run is the reference: it must itself have worked.
    REQUIRE_FALSE(kernel.connect_ec);
    REQUIRE(kernel.client.completions == 2);
    REQUIRE(kernel.client.reply == msg);
    REQUIRE(kernel.server.eofs == 1);
    REQUIRE(kernel.out_of_work);
    return kernel;
}

void check_vlo_echo(WorkerKind worker, const std::vector<std::uint8_t>& msg,
                    const EchoRun& kernel) {
    INFO("worker " << worker_kind_name(worker) << ", " << msg.size() << " bytes");
    Stack stack(with_worker(worker));  // outlives the io_context and its handlers
    asio::io_context ioc;
    check_same(run_echo(VloNet{ioc, stack}, msg), kernel);
}

// One-way: the client's async_write, the server's async_read, both on one io_context.
void check_transfer(WorkerKind worker, std::size_t size) {
    INFO("worker " << worker_kind_name(worker));
    Stack stack(with_worker(worker));
    asio::io_context ioc;
    TcpAcceptor acc(ioc, stack, {kInaddrLoopback, 0});
    Pair p;
    connect_pair(ioc, stack, acc, p);

    const auto data = pattern(size, 7);
    std::vector<std::uint8_t> got(data.size());
    error_code wec, rec;
    std::size_t wn = 0, rn = 0;
    asio::async_write(*p.client, asio::buffer(data), [&](error_code ec, std::size_t n) {
        wec = ec;
        wn = n;
    });
    asio::async_read(*p.server, asio::buffer(got), [&](error_code ec, std::size_t n) {
        rec = ec;
        rn = n;
    });
    ioc.run_for(kLimit);
    CHECK(ioc.stopped());
    CHECK_FALSE(wec);
    CHECK_FALSE(rec);
    CHECK(wn == data.size());
    CHECK(rn == data.size());
    CHECK(got == data);
}

}  // namespace

TEST_CASE("a generic Asio echo client runs unchanged over kernel TCP and over vlo", "[asio]") {
    const std::size_t size = GENERATE(std::size_t{13}, std::size_t{1} << 20);
    const auto msg = pattern(size);
    const EchoRun kernel = kernel_echo(msg);
    check_vlo_echo(GENERATE(WorkerKind::softirq, WorkerKind::inline_), msg, kernel);
}

TEST_CASE("async_connect to a closed vlo port completes with connection_refused", "[asio]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::inline_);
    INFO("worker " << worker_kind_name(worker));
    Stack stack(with_worker(worker));
    asio::io_context ioc;
    TcpStream s(ioc, stack);
    error_code got;
    bool done = false;
    s.async_connect({kInaddrLoopback, 9}, [&](error_code ec) {
        got = ec;
        done = true;
    });
    CHECK_FALSE(done);  // not inline, though the inline worker knew the answer at once
    ioc.run_for(kLimit);
    REQUIRE(done);
    CHECK(got == asio::error::connection_refused);
    CHECK(got == boost::system::errc::connection_refused);
    CHECK(stack.tcp().stats().tcp.get(TcpMib::AttemptFails) == 1);

    // The kernel says the same, with the same error_code, for a port it just freed.
    ioc.restart();
    asio::ip::tcp::endpoint closed;
    {
        asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address_v4("127.0.0.1"), 0});
        closed = a.local_endpoint();
    }
    asio::ip::tcp::socket k(ioc);
    error_code kernel_ec;
    k.async_connect(closed, [&](error_code ec) { kernel_ec = ec; });
    ioc.run_for(kLimit);
    CHECK(kernel_ec == got);
}

TEST_CASE("async_read after the peer closes completes with eof, as over the kernel", "[asio]") {
    EofRun kernel;
    {
        asio::io_context ioc;
        kernel = run_eof(KernelNet{ioc});
    }
    REQUIRE(kernel.done);
    CHECK(kernel.read_ec == asio::error::eof);

    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::inline_);
    INFO("worker " << worker_kind_name(worker));
    Stack stack(with_worker(worker));
    asio::io_context ioc;
    const EofRun vlo = run_eof(VloNet{ioc, stack});
    REQUIRE(vlo.done);
    CHECK(vlo.connect_ec == kernel.connect_ec);
    CHECK(vlo.read_ec == asio::error::eof);
    CHECK(vlo.read_ec == kernel.read_ec);
    CHECK(vlo.read == 3);
    CHECK(vlo.got == "bye");
    CHECK(vlo.again_ec == asio::error::eof);  // the end of the stream stays the end
    CHECK(vlo.again == 0);
    CHECK(vlo.again_ec == kernel.again_ec);
}

TEST_CASE("an 8 MiB async_write arrives byte-identical through async_read", "[asio]") {
    check_transfer(GENERATE(WorkerKind::softirq, WorkerKind::inline_), 8 << 20);
}

// Wakes from other threads (ksoftirqd/N), and a Stack destroyed right after traffic: NetRx::hold
// waits out a round still delivering before the protocols go (Stack::~Stack).
TEST_CASE("the adapter over the threaded workers", "[asio][asio-workers]") {
    const WorkerKind worker = GENERATE(WorkerKind::ksoftirqd, WorkerKind::busypoll);
    const auto msg = pattern(std::size_t{1} << 20);
    check_vlo_echo(worker, msg, kernel_echo(msg));
    check_transfer(worker, 8 << 20);
}

TEST_CASE("a thousand one-byte round trips on a two-thread io_context lose no wakeup",
          "[asio]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::inline_);
    INFO("worker " << worker_kind_name(worker));
    Stack stack(with_worker(worker));
    asio::io_context ioc;
    TcpAcceptor acc(ioc, stack, {kInaddrLoopback, 0});
    Pair p;
    connect_pair(ioc, stack, acc, p);

    // Each side has one operation at a time, chained, so each read parks and is woken: a lost
    // wakeup stalls the chain and the bounded run ends with rounds short.
    constexpr int kRounds = 1000;
    std::atomic<int> rounds{0}, server_eofs{0};
    std::array<std::uint8_t, 1> cbuf{}, sbuf{};
    std::function<void()> client_round, server_round;
    client_round = [&] {
        asio::async_write(*p.client, asio::buffer(cbuf), [&](error_code ec, std::size_t) {
            if (ec) return;
            asio::async_read(*p.client, asio::buffer(cbuf), [&](error_code ec, std::size_t) {
                if (ec) return;
                ++cbuf[0];
                if (++rounds < kRounds)
                    client_round();
                else
                    p.client->close();
            });
        });
    };
    server_round = [&] {
        p.server->async_read_some(asio::buffer(sbuf), [&](error_code ec, std::size_t) {
            if (ec == asio::error::eof) return void(++server_eofs);
            if (ec) return;
            asio::async_write(*p.server, asio::buffer(sbuf), [&](error_code ec, std::size_t) {
                if (!ec) server_round();
            });
        });
    };
    server_round();
    client_round();
    std::thread second([&] { ioc.run_for(kLimit); });
    ioc.run_for(kLimit);
    second.join();
    CHECK(rounds == kRounds);
    CHECK(server_eofs == 1);
    CHECK(cbuf[0] == static_cast<std::uint8_t>(kRounds));
}

TEST_CASE("use_future works with the vlo stream and acceptor", "[asio]") {
    Stack stack;
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::thread loop([&] { ioc.run_for(kLimit); });
    const auto ready = [](auto& f) { return f.wait_for(kLimit) == std::future_status::ready; };
    {
        TcpAcceptor acc(ioc, stack, {kInaddrLoopback, 0});
        TcpStream client(ioc, stack);
        std::future<TcpStream> accepted = acc.async_accept(asio::use_future);
        std::future<void> connected =
            client.async_connect(acc.local_endpoint(), asio::use_future);
        REQUIRE(ready(connected));
        connected.get();
        REQUIRE(ready(accepted));
        TcpStream server = accepted.get();
        CHECK(server.remote_endpoint() == client.local_endpoint());
        CHECK(server.local_endpoint() == client.remote_endpoint());

        const auto msg = pattern(100000, 3);
        std::vector<std::uint8_t> got(msg.size());
        std::future<std::size_t> wrote =
            asio::async_write(client, asio::buffer(msg), asio::use_future);
        std::future<std::size_t> read =
            asio::async_read(server, asio::buffer(got), asio::use_future);
        REQUIRE(ready(wrote));
        REQUIRE(ready(read));
        CHECK(wrote.get() == msg.size());
        CHECK(read.get() == msg.size());
        CHECK(got == msg);

        // An error comes out of get() as boost::system::system_error.
        TcpStream other(ioc, stack);
        std::future<void> refused = other.async_connect({kInaddrLoopback, 9}, asio::use_future);
        REQUIRE(ready(refused));
        error_code ec;
        try {
            refused.get();
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
        CHECK(ec == asio::error::connection_refused);
    }
    work.reset();
    loop.join();
}

#if defined(BOOST_ASIO_HAS_CO_AWAIT)
// GCC 12 pairs Asio 1.74's coroutine-frame operator delete with the ::operator new inside its
// recycling allocator once inlined (sanitizer builds) and warns; the pair is Asio's own, matched.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {

asio::awaitable<void> coro_echo_server(TcpAcceptor& acc, ServerStats& st) {
    TcpStream s = co_await acc.async_accept(asio::use_awaitable);
    ++st.accepted;
    std::array<std::uint8_t, 4096> buf{};
    for (;;) {
        error_code ec;
        const std::size_t n = co_await s.async_read_some(
            asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::eof) break;
        if (ec) throw boost::system::system_error(ec);
        st.echoed +=
            co_await asio::async_write(s, asio::buffer(buf.data(), n), asio::use_awaitable);
    }
    ++st.eofs;
}

asio::awaitable<void> coro_client(Stack& stack, SockAddr to, std::vector<std::uint8_t> msg,
                                  std::vector<std::uint8_t>& reply) {
    TcpStream s(co_await asio::this_coro::executor, stack);
    co_await s.async_connect(to, asio::use_awaitable);
    reply.assign(msg.size(), 0);
    co_await asio::async_write(s, asio::buffer(msg), asio::use_awaitable);
    co_await asio::async_read(s, asio::buffer(reply), asio::use_awaitable);
}

}  // namespace

TEST_CASE("C++20 coroutines: co_spawn and use_awaitable over vlo", "[asio]") {
    Stack stack(test::inline_config());
    asio::io_context ioc;
    TcpAcceptor acc(ioc, stack, {kInaddrLoopback, 0});
    ServerStats st;
    std::vector<std::uint8_t> reply;
    const auto msg = pattern(30000, 5);
    int finished = 0;
    std::exception_ptr failure;
    const auto on_done = [&](std::exception_ptr e) {
        if (e) failure = e;
        ++finished;
    };
    asio::co_spawn(ioc, coro_echo_server(acc, st), on_done);
    asio::co_spawn(ioc, coro_client(stack, acc.local_endpoint(), msg, reply), on_done);
    ioc.run_for(kLimit);
    REQUIRE(finished == 2);
    REQUIRE_FALSE(failure);
    CHECK(reply == msg);
    CHECK(st.accepted == 1);
    CHECK(st.echoed == msg.size());
    CHECK(st.eofs == 1);  // the client's stream closed as its coroutine ended
}
#pragma GCC diagnostic pop
#endif

TEST_CASE("handlers run after the initiating call returns, on their associated executor",
          "[asio]") {
    Stack stack(test::inline_config());
    asio::io_context ioc;
    TcpAcceptor acc(ioc, stack, {kInaddrLoopback, 0});
    Pair p;
    connect_pair(ioc, stack, acc, p);
    std::array<std::uint8_t, 8> buf{};

    // With the inline worker the data is in the server's queue before async_read_some starts:
    // it finishes at once, and still the handler is posted.
    asio::async_write(*p.client, asio::buffer(buf.data(), 3), asio::detached);
    ioc.run_for(kLimit);
    ioc.restart();
    int calls = 0;
    error_code ec1, ec2, ec3;
    std::size_t n1 = 9, n2 = 9, n3 = 9;
    p.server->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t n) {
        ec1 = ec;
        n1 = n;
        ++calls;
    });
    // Empty buffers complete at once with 0, also posted.
    p.server->async_read_some(asio::mutable_buffer(), [&](error_code ec, std::size_t n) {
        ec2 = ec;
        n2 = n;
        ++calls;
    });
    p.client->async_write_some(asio::const_buffer(), [&](error_code ec, std::size_t n) {
        ec3 = ec;
        n3 = n;
        ++calls;
    });
    CHECK(calls == 0);
    ioc.run_for(kLimit);
    ioc.restart();
    CHECK(calls == 3);
    CHECK_FALSE(ec1);
    CHECK(n1 == 3);
    CHECK_FALSE(ec2);
    CHECK(n2 == 0);
    CHECK_FALSE(ec3);
    CHECK(n3 == 0);

    // A parked read completes, via the wake callback, on the strand its handler is bound to.
    auto strand = asio::make_strand(ioc);
    bool on_strand = false;
    std::size_t n4 = 0;
    p.server->async_read_some(asio::buffer(buf),
                              asio::bind_executor(strand, [&](error_code, std::size_t n) {
                                  on_strand = strand.running_in_this_thread();
                                  n4 = n;
                              }));
    asio::post(ioc, [&] { asio::async_write(*p.client, asio::buffer("hi", 2), asio::detached); });
    ioc.run_for(kLimit);
    CHECK(on_strand);
    CHECK(n4 == 2);
}

TEST_CASE("close and cancel abort parked operations, closed streams say bad_descriptor",
          "[asio]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::inline_);
    INFO("worker " << worker_kind_name(worker));
    Stack stack(with_worker(worker));
    asio::io_context ioc;
    TcpAcceptor acc(ioc, stack, {kInaddrLoopback, 0});
    Pair p;
    connect_pair(ioc, stack, acc, p);
    std::array<std::uint8_t, 8> buf{};

    error_code cancelled, closed, after_close, moved_from, accept_ec;
    p.server->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) {
        cancelled = ec;
        // Parked again, then the stream is closed under it.
        p.server->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) {
            closed = ec;
            p.server->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) {
                after_close = ec;
            });
        });
        p.server->close();
        // The peer's data and FIN now meet a closed socket: no callback, nothing to run.
        asio::async_write(*p.client, asio::buffer("late", 4), [&](error_code, std::size_t) {
            p.client->close();
        });
    });
    bool accept_done = false;
    acc.async_accept([&](error_code ec, TcpStream s) {
        accept_ec = ec;
        accept_done = true;
        CHECK_FALSE(s.is_open());
    });
    TcpStream moved(std::move(*p.client));  // leaves *p.client moved-from
    p.client->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) {
        moved_from = ec;
    });
    p.client.emplace(std::move(moved));
    asio::post(ioc, [&] {
        p.server->cancel();
        acc.close();
    });
    ioc.run_for(kLimit);
    CHECK(ioc.stopped());
    CHECK(cancelled == asio::error::operation_aborted);
    CHECK(closed == asio::error::operation_aborted);
    CHECK(after_close == asio::error::bad_descriptor);
    CHECK(moved_from == asio::error::bad_descriptor);
    REQUIRE(accept_done);
    CHECK(accept_ec == asio::error::operation_aborted);
    CHECK_FALSE(p.server->is_open());
}

TEST_CASE("destroying the io_context releases parked handlers that own their stream",
          "[asio]") {
    Stack stack;
    std::weak_ptr<TcpStream> witness;
    {
        asio::io_context ioc;
        TcpAcceptor acc(ioc, stack, {kInaddrLoopback, 0});
        Pair p;
        connect_pair(ioc, stack, acc, p);
        // A handler owning its stream: a cycle until the operation ends, which it never does.
        auto client = std::make_shared<TcpStream>(std::move(*p.client));
        witness = client;
        auto buf = std::make_shared<std::array<std::uint8_t, 8>>();
        client->async_read_some(asio::buffer(*buf), [client, buf](error_code, std::size_t) {
            FAIL("the read never completes");
        });
        client.reset();
        ioc.run_for(50ms);
        CHECK_FALSE(witness.expired());
    }
    CHECK(witness.expired());
}

// ---- regressions: two stack bugs found while testing the adapter (no Asio involved) ----

// ~Stack holds NET_RX before freeing TCP; hold(true) must wait for a ksoftirqd round already
// under way, or that round delivers into freed sockets.
TEST_CASE("a stack can be destroyed while ksoftirqd is still delivering", "[asio][regression]") {
    for (int i = 0; i < 2000; ++i) {
        Stack stack(with_worker(WorkerKind::ksoftirqd));
        TcpSocket l(stack);
        REQUIRE_FALSE(l.bind({kInaddrLoopback, 80}));
        REQUIRE_FALSE(l.listen(8));
        TcpSocket c(stack);
        REQUIRE_FALSE(c.connect({kInaddrLoopback, 80}, kNsPerSec));
        std::error_code ec;
        auto s = l.accept(ec, kNsPerSec);
        REQUIRE(s);
        std::array<std::uint8_t, 100> b{};
        std::size_t n = 0;
        REQUIRE_FALSE(c.send(b, n));
        c.close();  // FIN and data in flight through ksoftirqd as the stack goes
    }
}

// A freed socket's stale retransmission / delayed-ACK entries stay in the timer heap; when they
// come due the timer thread must not read the freed Timer (heap-use-after-free under ASan).
TEST_CASE("a freed socket's timer entries never reach freed memory", "[asio][regression]") {
    Stack stack;  // real clock: the timer thread pops due entries
    {
        TcpSocket l(stack);
        REQUIRE_FALSE(l.bind({kInaddrLoopback, 80}));
        REQUIRE_FALSE(l.listen(8));
        TcpSocket c(stack);
        REQUIRE_FALSE(c.connect({kInaddrLoopback, 80}, kNsPerSec));
        std::error_code ec;
        auto s = l.accept(ec, kNsPerSec);
        REQUIRE(s);
        std::array<std::uint8_t, 100> b{};
        std::size_t n = 0;
        REQUIRE_FALSE(c.send(b, n));  // arms (then cancels) the retransmission timer
        REQUIRE_FALSE(s->send(b, n));
        s->close();
        c.close();
    }
    std::this_thread::sleep_for(1500ms);  // the stale entries come due: ASan reports here
}
