// A Boost.Asio adapter for vlo's TCP: TcpStream satisfies AsyncReadStream and AsyncWriteStream
// and TcpAcceptor has async_accept, so generic Asio code (async_read, async_write, composed
// operations, any completion token: callbacks, use_future, use_awaitable) runs unchanged over
// vlo. Header-only (Boost 1.74's Asio is).
//
// How an operation runs: it is queued on the socket's shared core, then tried with the
// non-blocking call (try_recv, try_send, try_accept, connect_start). If that would block, it
// stays parked; the socket's wake callback (any thread, maybe with socket locks held) only posts
// a retry to the stream's executor, which tries the parked operations again. Queueing before
// the first try closes the lost-wakeup window: a wake after it always posts a retry.
// Completions are posted when the operation finishes inside its initiating function,
// dispatched when it finishes in a retry, always on the handler's associated executor (the
// stream's by default), so a handler never runs inside the call that started it.
//
// Lifetimes: as with Asio's own sockets, streams and acceptors must be destroyed before their
// execution context, and the vlo::Stack must outlive both (destroying the io_context releases
// parked handlers, which may own streams, whose sockets then close on the stack). Like Asio
// sockets, one object is not safe for concurrent use by several threads; the stack's own
// threads are handled.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <type_traits>
#include <unordered_set>
#include <utility>  // before Asio: 1.74's awaitable.hpp uses std::exchange unincluded
#include <vector>

#include <boost/asio.hpp>

#include "stack/stack.hpp"
#include "stack/tcp_socket.hpp"

namespace vlo::asio_adapter {

// std::error_code from vlo (generic category, POSIX values) to Boost. The system category is
// what Asio itself reports for OS errors on POSIX, so `ec == asio::error::connection_refused`
// holds (asio::error's enumerators compare category and value), and so does
// `ec == boost::system::errc::connection_refused` (the system category maps onto generic).
inline boost::system::error_code to_boost(const std::error_code& ec) {
    if (!ec) return {};
    if (ec.category() == std::generic_category() || ec.category() == std::system_category())
        return {ec.value(), boost::system::system_category()};
    // vlo reports only POSIX errors; anything else has no faithful Boost equivalent.
    return boost::system::errc::make_error_code(boost::system::errc::io_error);
}

namespace detail {

// Keeps an executor's context from running out of work while an operation is outstanding,
// for both the standard-executor model and the older Networking TS one.
template <class Executor>
auto track_work(const Executor& ex) {
    if constexpr (boost::asio::execution::is_executor<Executor>::value)
        return boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
    else
        return boost::asio::make_work_guard(ex);
}
template <class Executor>
using TrackedWork = decltype(track_work(std::declval<const Executor&>()));

// One asynchronous operation, type-erased. Ops form intrusive FIFO queues, so parking one
// allocates nothing beyond the op itself.
class Op {
public:
    Op() = default;
    Op(const Op&) = delete;
    Op& operator=(const Op&) = delete;
    virtual ~Op() = default;  // destroys the handler without invoking it (shutdown)

    // One non-blocking attempt, with the core's lock held: true when finished (result stored).
    virtual bool perform(TcpSocket& sock) = 0;
    // Finishes without an attempt (operation_aborted, bad_descriptor).
    virtual void fail(boost::system::error_code ec) = 0;
    // Frees the op and hands its result to the handler: posted (from an initiating function
    // or a cancel, never inline) or dispatched (from a retry already on the executor).
    virtual void complete(bool post) = 0;

private:
    friend class OpQueue;
    Op* next_ = nullptr;
};

class OpQueue {
public:
    OpQueue() = default;
    OpQueue(const OpQueue&) = delete;
    OpQueue& operator=(const OpQueue&) = delete;
    ~OpQueue() {
        while (Op* op = pop()) delete op;
    }
    bool empty() const { return head_ == nullptr; }
    Op* front() const { return head_; }
    void push(Op* op) {
        op->next_ = nullptr;
        (tail_ ? tail_->next_ : head_) = op;
        tail_ = op;
    }
    Op* pop() {
        Op* op = head_;
        if (!op) return nullptr;
        head_ = op->next_;
        if (!head_) tail_ = nullptr;
        op->next_ = nullptr;
        return op;
    }
    void splice(OpQueue& other) {
        while (Op* op = other.pop()) push(op);
    }

private:
    Op* head_ = nullptr;
    Op* tail_ = nullptr;
};

// The handler, its executors' work, and delivery of the result.
template <class Handler, class... Results>
class HandlerOp : public Op {
public:
    HandlerOp(Handler&& handler, const boost::asio::any_io_executor& io_ex)
        : handler_(std::move(handler)),
          io_ex_(io_ex),
          io_work_(track_work(io_ex)),
          handler_work_(track_work(boost::asio::get_associated_executor(handler_, io_ex))) {}

protected:
    // Deletes this op, then posts or dispatches handler(results...) on the handler's
    // associated executor (the stream's by default).
    void deliver(bool post, Results... results) {
        std::unique_ptr<HandlerOp> self(this);
        Handler handler(std::move(handler_));
        const auto ex = boost::asio::get_associated_executor(handler, io_ex_);
        // The work lives until the completion is scheduled: the context cannot run dry between.
        auto io_work = std::move(io_work_);
        auto handler_work = std::move(handler_work_);
        self.reset();  // as Asio does: the op's memory is free before the upcall
        auto fn = [h = std::move(handler), ... rs = std::move(results)]() mutable {
            std::move(h)(std::move(rs)...);
        };
        if (post)
            boost::asio::post(ex, std::move(fn));
        else
            boost::asio::dispatch(ex, std::move(fn));
    }

private:
    using HandlerExecutor =
        boost::asio::associated_executor_t<Handler, boost::asio::any_io_executor>;
    Handler handler_;
    boost::asio::any_io_executor io_ex_;
    TrackedWork<boost::asio::any_io_executor> io_work_;
    TrackedWork<HandlerExecutor> handler_work_;
};

inline std::span<std::uint8_t> as_span(boost::asio::mutable_buffer b) {
    return {static_cast<std::uint8_t*>(b.data()), b.size()};
}
inline std::span<const std::uint8_t> as_span(boost::asio::const_buffer b) {
    return {static_cast<const std::uint8_t*>(b.data()), b.size()};
}

// read_some: into the first non-empty buffer only (allowed: read_some may transfer less), so
// one try_recv per attempt and a pending socket error is never consumed behind data.
template <class MutableBufferSequence>
boost::asio::mutable_buffer first_buffer(const MutableBufferSequence& buffers) {
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
        boost::asio::mutable_buffer b(*it);
        if (b.size() > 0) return b;
    }
    return {};
}

template <class Handler>
class ReadOp final : public HandlerOp<Handler, boost::system::error_code, std::size_t> {
public:
    ReadOp(Handler&& h, const boost::asio::any_io_executor& ex, boost::asio::mutable_buffer buf)
        : HandlerOp<Handler, boost::system::error_code, std::size_t>(std::move(h), ex),
          buf_(buf) {}

    bool perform(TcpSocket& sock) override {
        if (buf_.size() == 0) return true;  // zero-size: completes at once with 0
        const std::error_code e = sock.try_recv(as_span(buf_), n_);
        if (e == std::errc::resource_unavailable_try_again) return false;
        ec_ = to_boost(e);
        if (!e && n_ == 0) ec_ = boost::asio::error::eof;  // a non-empty buffer got nothing
        return true;
    }
    void fail(boost::system::error_code ec) override {
        ec_ = ec;
        n_ = 0;
    }
    void complete(bool post) override { this->deliver(post, ec_, n_); }

private:
    boost::asio::mutable_buffer buf_;
    boost::system::error_code ec_;
    std::size_t n_ = 0;
};

template <class Handler>
class WriteOp final : public HandlerOp<Handler, boost::system::error_code, std::size_t> {
public:
    // Several non-empty buffers are gathered (up to kMaxGather bytes) into one copy, so each
    // attempt is a single try_send, as sendmsg with an iovec is one call.
    static constexpr std::size_t kMaxGather = 64 * 1024;

    template <class ConstBufferSequence>
    WriteOp(Handler&& h, const boost::asio::any_io_executor& ex, const ConstBufferSequence& bufs)
        : HandlerOp<Handler, boost::system::error_code, std::size_t>(std::move(h), ex) {
        std::size_t nonempty = 0;
        const auto end = boost::asio::buffer_sequence_end(bufs);
        for (auto it = boost::asio::buffer_sequence_begin(bufs); it != end; ++it) {
            boost::asio::const_buffer b(*it);
            if (b.size() > 0 && nonempty++ == 0) buf_ = b;
        }
        if (nonempty > 1) {
            staging_.resize(std::min(boost::asio::buffer_size(bufs), kMaxGather));
            boost::asio::buffer_copy(boost::asio::buffer(staging_), bufs);
            buf_ = boost::asio::buffer(staging_);
        }
    }

    bool perform(TcpSocket& sock) override {
        if (buf_.size() == 0) return true;
        const std::error_code e = sock.try_send(as_span(buf_), n_);
        if (e == std::errc::resource_unavailable_try_again) return false;
        ec_ = to_boost(e);
        return true;
    }
    void fail(boost::system::error_code ec) override {
        ec_ = ec;
        n_ = 0;
    }
    void complete(bool post) override { this->deliver(post, ec_, n_); }

private:
    boost::asio::const_buffer buf_;
    std::vector<std::uint8_t> staging_;
    boost::system::error_code ec_;
    std::size_t n_ = 0;
};

// connect: the first attempt sends the SYN; later ones probe with an empty try_send, which
// under the socket lock reports the pending error (SO_ERROR), EAGAIN while the handshake
// runs, or success once established: poll(POLLOUT) + getsockopt(SO_ERROR) in one call.
template <class Handler>
class ConnectOp final : public HandlerOp<Handler, boost::system::error_code> {
public:
    ConnectOp(Handler&& h, const boost::asio::any_io_executor& ex, SockAddr peer)
        : HandlerOp<Handler, boost::system::error_code>(std::move(h), ex), peer_(peer) {}

    bool perform(TcpSocket& sock) override {
        std::error_code e;
        if (!started_) {
            started_ = true;
            e = sock.connect_start(peer_);
            if (e == std::errc::operation_in_progress) return false;
        } else {
            std::size_t n = 0;
            e = sock.try_send({}, n);
            if (e == std::errc::resource_unavailable_try_again) return false;
            // Closed without a recorded error: the attempt failed; say so as Linux would.
            if (e == std::errc::not_connected)
                e = std::make_error_code(std::errc::connection_refused);
        }
        ec_ = to_boost(e);
        return true;
    }
    void fail(boost::system::error_code ec) override { ec_ = ec; }
    void complete(bool post) override { this->deliver(post, ec_); }

private:
    SockAddr peer_;
    bool started_ = false;
    boost::system::error_code ec_;
};

class SocketCore;

// Every core of one execution context, so that the context's shutdown (io_context's
// destructor) can destroy parked handlers, as Asio's own services do: a parked handler that
// owns its stream would otherwise keep a reference cycle alive.
struct Registry {
    std::mutex mu;
    std::unordered_set<SocketCore*> cores;  // guarded by mu
    std::atomic<bool> shut_down{false};
};

class CoreService final : public boost::asio::execution_context::service {
public:
    using key_type = CoreService;
    static inline boost::asio::execution_context::id id;

    explicit CoreService(boost::asio::execution_context& ctx)
        : boost::asio::execution_context::service(ctx), registry_(std::make_shared<Registry>()) {}
    // Shared: a core unregisters itself even if it outlives the context (misuse, but harmless).
    std::shared_ptr<Registry> registry() const { return registry_; }

private:
    void shutdown() override;
    std::shared_ptr<Registry> registry_;
};

// The per-socket state shared by a stream (or acceptor), its parked operations and the posted
// retries: the TcpSocket lives here, so a retry or wake that outlives the stream is harmless.
class SocketCore : public std::enable_shared_from_this<SocketCore> {
public:
    enum Dir { kRead = 0, kWrite = 1 };  // accept is a read, connect a write, as in poll(2)

    // `sock` may be null: a closed socket, opened later by open() or async_connect.
    static std::shared_ptr<SocketCore> make(const boost::asio::any_io_executor& ex, Stack& stack,
                                            std::unique_ptr<TcpSocket> sock) {
        std::shared_ptr<SocketCore> core(new SocketCore(ex, stack));
        if (sock) {
            std::lock_guard l(core->mu_);
            core->attach(std::move(sock));
        }
        return core;
    }

    ~SocketCore() {
        std::lock_guard l(registry_->mu);
        registry_->cores.erase(this);
    }

    const boost::asio::any_io_executor& executor() const { return ex_; }
    Stack& stack() const { return stack_; }

    bool is_open() {
        std::lock_guard l(mu_);
        return sock_ != nullptr;
    }

    boost::system::error_code open() {
        std::lock_guard l(mu_);
        if (sock_) return boost::asio::error::already_open;
        attach(std::make_unique<TcpSocket>(stack_));
        return {};
    }

    // Calls f(TcpSocket&) -> std::error_code under the lock; bad_descriptor when closed.
    template <class F>
    boost::system::error_code call(F&& f) {
        std::lock_guard l(mu_);
        if (!sock_) return boost::asio::error::bad_descriptor;
        return to_boost(std::forward<F>(f)(*sock_));
    }

    // Queues op behind earlier ops of its direction, then tries it: registering before trying
    // means a wake from then on sees waiting_ > 0 and posts a retry, so readiness arriving
    // between the attempt and parking is never lost.
    void start(Dir d, std::unique_ptr<Op> op) {
        OpQueue done;
        {
            std::lock_guard l(mu_);
            // After shutdown handlers are destroyed, not run (~OpQueue, once unlocked).
            if (registry_->shut_down.load()) return done.push(op.release());
            waiting_.fetch_add(1);
            ops_[d].push(op.release());
            drain(ops_[d], done);
        }
        complete_all(done, true);
    }

    // Completes parked operations with operation_aborted.
    void cancel() {
        const auto keep = shared_from_this();  // destroying a handler may drop the last owner
        OpQueue aborted;
        {
            std::lock_guard l(mu_);
            take_all(aborted, boost::asio::error::operation_aborted);
        }
        complete_all(aborted, true);
    }

    void close() {
        const auto keep = shared_from_this();  // destroying a handler may drop the last owner
        OpQueue aborted;
        std::unique_ptr<TcpSocket> sock;
        {
            std::lock_guard l(mu_);
            take_all(aborted, boost::asio::error::operation_aborted);
            sock = std::move(sock_);
        }
        // Outside the lock: tcp_close may run NET_RX here, and nothing it calls needs us.
        // ~TcpSocket clears the wake callback, waiting for a running one to return.
        sock.reset();
        complete_all(aborted, true);
    }

    // From CoreService::shutdown: detach from the stack, hand back the parked ops.
    void shut_down(OpQueue& out) {
        std::lock_guard l(mu_);
        out.splice(ops_[kRead]);
        out.splice(ops_[kWrite]);
        waiting_.store(0);
        if (sock_) sock_->set_wake_callback(nullptr);
    }

private:
    SocketCore(const boost::asio::any_io_executor& ex, Stack& stack)
        : ex_(ex),
          stack_(stack),
          registry_(boost::asio::use_service<CoreService>(
                        boost::asio::query(ex, boost::asio::execution::context))
                        .registry()) {
        std::lock_guard l(registry_->mu);
        registry_->cores.insert(this);
    }

    // With mu_ held.
    void attach(std::unique_ptr<TcpSocket> sock) {
        // The callback runs on any thread, possibly with socket locks held: it only posts.
        // It holds a weak reference, so it is inert once the core is gone.
        sock->set_wake_callback([w = weak_from_this()] {
            if (auto self = w.lock()) on_wake(std::move(self));
        });
        sock_ = std::move(sock);
    }

    static void on_wake(std::shared_ptr<SocketCore> self) {
        // Nothing parked: nothing to retry (a new op tries for itself). One retry in flight
        // covers every wake until it starts. Dropping `self` here never destroys the core:
        // while the socket (and so this callback) exists, an open stream or acceptor owns
        // the core, and closing it waits for this callback to return.
        if (self->waiting_.load() == 0 || self->registry_->shut_down.load()) return;
        if (self->retry_posted_.exchange(true)) return;
        const boost::asio::any_io_executor ex = self->ex_;
        boost::asio::post(ex, [self = std::move(self)] {
            self->retry_posted_.store(false);  // before retrying: later wakes post again
            self->retry();
        });
    }

    // On the executor.
    void retry() {
        OpQueue done;
        {
            std::lock_guard l(mu_);
            drain(ops_[kRead], done);
            drain(ops_[kWrite], done);
        }
        complete_all(done, false);
    }

    // With mu_ held: tries the queue's ops in order while they finish.
    void drain(OpQueue& q, OpQueue& done) {
        while (Op* op = q.front()) {
            if (!sock_)
                op->fail(boost::asio::error::bad_descriptor);
            else if (!op->perform(*sock_))
                return;
            q.pop();
            waiting_.fetch_sub(1);
            done.push(op);
        }
    }

    // With mu_ held.
    void take_all(OpQueue& out, boost::system::error_code ec) {
        for (OpQueue& q : ops_) {
            while (Op* op = q.pop()) {
                op->fail(ec);
                out.push(op);
            }
        }
        waiting_.store(0);
    }

    // Without mu_: a handler may start ops on this core, or own (and so destroy) its stream.
    void complete_all(OpQueue& done, bool post) {
        if (registry_->shut_down.load()) return;  // ~OpQueue destroys them: no upcalls
        while (Op* op = done.pop()) op->complete(post);
    }

    const boost::asio::any_io_executor ex_;
    Stack& stack_;
    const std::shared_ptr<Registry> registry_;
    std::mutex mu_;
    std::unique_ptr<TcpSocket> sock_;  // guarded by mu_; null when closed
    OpQueue ops_[2];                   // guarded by mu_
    std::atomic<int> waiting_{0};      // ops queued (written under mu_, read by the callback)
    std::atomic<bool> retry_posted_{false};
};

inline void CoreService::shutdown() {
    registry_->shut_down.store(true);
    OpQueue parked;
    {
        std::lock_guard l(registry_->mu);
        for (SocketCore* core : registry_->cores) core->shut_down(parked);
    }
    // ~OpQueue, outside the locks: destroying a handler may destroy a stream and its core.
}

template <class Handler, class... Args>
void post_result(const boost::asio::any_io_executor& io_ex, Handler&& handler, Args... args) {
    const auto ex = boost::asio::get_associated_executor(handler, io_ex);
    boost::asio::post(ex, [h = std::move(handler), ... as = std::move(args)]() mutable {
        std::move(h)(std::move(as)...);
    });
}

}  // namespace detail

// A connected (or connectable) TCP stream: AsyncReadStream and AsyncWriteStream.
class TcpStream {
public:
    using executor_type = boost::asio::any_io_executor;
    using lowest_layer_type = TcpStream;

    // Closed, as Asio's socket(ex): async_connect (or open) opens it on `stack`.
    TcpStream(const executor_type& ex, Stack& stack)
        : ex_(ex), core_(detail::SocketCore::make(ex, stack, nullptr)) {}
    // Adopts a socket (not null; connected, e.g. from TcpSocket::accept, or not).
    TcpStream(const executor_type& ex, std::unique_ptr<TcpSocket> sock) : ex_(ex) {
        Stack& stack = sock->stack();  // before the move: argument order is unspecified
        core_ = detail::SocketCore::make(ex, stack, std::move(sock));
    }
    template <class ExecutionContext,
              std::enable_if_t<std::is_convertible_v<ExecutionContext&,
                                                     boost::asio::execution_context&>,
                               int> = 0>
    TcpStream(ExecutionContext& ctx, Stack& stack) : TcpStream(ctx.get_executor(), stack) {}

    // A moved-from stream keeps its executor; its operations fail with bad_descriptor.
    TcpStream(TcpStream&& other) noexcept : ex_(other.ex_), core_(std::move(other.core_)) {}
    TcpStream& operator=(TcpStream&& other) noexcept {
        if (this != &other) {
            if (core_) core_->close();
            ex_ = other.ex_;
            core_ = std::move(other.core_);
        }
        return *this;
    }
    ~TcpStream() {
        if (core_) core_->close();
    }

    executor_type get_executor() const noexcept { return ex_; }
    lowest_layer_type& lowest_layer() { return *this; }
    const lowest_layer_type& lowest_layer() const { return *this; }

    bool is_open() const { return core_ && core_->is_open(); }
    void open() {
        boost::system::error_code ec;
        throw_if(open(ec), "open");
    }
    boost::system::error_code open(boost::system::error_code& ec) {
        return ec = core_ ? core_->open() : boost::asio::error::bad_descriptor;
    }
    // Closing completes parked operations with operation_aborted.
    void close() {
        if (core_) core_->close();
    }
    void cancel() {
        if (core_) core_->cancel();
    }
    void shutdown(Shutdown how) {
        boost::system::error_code ec;
        throw_if(shutdown(how, ec), "shutdown");
    }
    boost::system::error_code shutdown(Shutdown how, boost::system::error_code& ec) {
        return ec = call([how](TcpSocket& s) { return s.shutdown(how); });
    }
    void set_nodelay(bool on) {
        throw_if(call([on](TcpSocket& s) { return s.set_nodelay(on); }), "set_nodelay");
    }
    SockAddr local_endpoint() const { return endpoint(false); }
    SockAddr remote_endpoint() const { return endpoint(true); }
    SockAddr local_endpoint(boost::system::error_code& ec) const { return endpoint(false, &ec); }
    SockAddr remote_endpoint(boost::system::error_code& ec) const { return endpoint(true, &ec); }

    // Completes with (error_code): connection_refused, timed_out... Opens a closed stream.
    template <class ConnectToken>
    auto async_connect(SockAddr peer, ConnectToken&& token) {
        return boost::asio::async_initiate<ConnectToken, void(boost::system::error_code)>(
            [core = core_, ex = ex_](auto handler, SockAddr to) {
                using H = decltype(handler);
                if (!core)
                    return detail::post_result(ex, std::move(handler),
                                               make_bad_descriptor());
                core->open();  // already_open is fine
                core->start(detail::SocketCore::kWrite,
                            std::make_unique<detail::ConnectOp<H>>(std::move(handler),
                                                                   core->executor(), to));
            },
            token, peer);
    }

    // Completes with (error_code, bytes): at least one byte, eof at the end of the stream,
    // or 0 at once for an empty buffer sequence.
    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return boost::asio::async_initiate<ReadToken,
                                           void(boost::system::error_code, std::size_t)>(
            [core = core_, ex = ex_](auto handler, boost::asio::mutable_buffer buf) {
                using H = decltype(handler);
                if (!core)
                    return detail::post_result(ex, std::move(handler), make_bad_descriptor(),
                                               std::size_t{0});
                core->start(detail::SocketCore::kRead,
                            std::make_unique<detail::ReadOp<H>>(std::move(handler),
                                                                core->executor(), buf));
            },
            token, detail::first_buffer(buffers));
    }

    // Completes with (error_code, bytes): at least one byte queued for sending, or 0 at once
    // for an empty buffer sequence.
    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return boost::asio::async_initiate<WriteToken,
                                           void(boost::system::error_code, std::size_t)>(
            [core = core_, ex = ex_](auto handler, const ConstBufferSequence& bufs) {
                using H = decltype(handler);
                if (!core)
                    return detail::post_result(ex, std::move(handler), make_bad_descriptor(),
                                               std::size_t{0});
                core->start(detail::SocketCore::kWrite,
                            std::make_unique<detail::WriteOp<H>>(std::move(handler),
                                                                 core->executor(), bufs));
            },
            token, buffers);
    }

private:
    friend class TcpAcceptor;

    static boost::system::error_code make_bad_descriptor() {
        return boost::asio::error::bad_descriptor;
    }
    static void throw_if(const boost::system::error_code& ec, const char* what) {
        if (ec) throw boost::system::system_error(ec, what);
    }
    template <class F>
    boost::system::error_code call(F&& f) const {
        return core_ ? core_->call(std::forward<F>(f)) : make_bad_descriptor();
    }
    SockAddr endpoint(bool remote, boost::system::error_code* ec = nullptr) const {
        SockAddr a;
        const auto e = call([&](TcpSocket& s) {
            a = remote ? s.peer_address() : s.local_address();
            return std::error_code{};
        });
        if (ec)
            *ec = e;
        else
            throw_if(e, remote ? "remote_endpoint" : "local_endpoint");
        return a;
    }

    executor_type ex_;
    std::shared_ptr<detail::SocketCore> core_;
};

namespace detail {

template <class Handler>
class AcceptOp final : public HandlerOp<Handler, boost::system::error_code, TcpStream> {
public:
    AcceptOp(Handler&& h, const boost::asio::any_io_executor& ex,
             const boost::asio::any_io_executor& peer_ex, Stack& stack)
        : HandlerOp<Handler, boost::system::error_code, TcpStream>(std::move(h), ex),
          peer_ex_(peer_ex),
          stack_(stack) {}

    bool perform(TcpSocket& listener) override {
        std::error_code e;
        child_ = listener.try_accept(e);
        if (e == std::errc::resource_unavailable_try_again) return false;
        ec_ = to_boost(e);
        return true;
    }
    void fail(boost::system::error_code ec) override { ec_ = ec; }
    // The stream (and its wake callback) is made here, outside the listener's lock.
    void complete(bool post) override {
        TcpStream peer = child_ ? TcpStream(peer_ex_, std::move(child_))
                                : TcpStream(peer_ex_, stack_);
        this->deliver(post, ec_, std::move(peer));
    }

private:
    boost::asio::any_io_executor peer_ex_;
    Stack& stack_;
    std::unique_ptr<TcpSocket> child_;
    boost::system::error_code ec_;
};

}  // namespace detail

// A listening socket with async_accept, completing with (error_code, TcpStream).
class TcpAcceptor {
public:
    using executor_type = boost::asio::any_io_executor;

    // Closed: open, bind and listen follow.
    TcpAcceptor(const executor_type& ex, Stack& stack)
        : ex_(ex), stack_(&stack), core_(detail::SocketCore::make(ex, stack, nullptr)) {}
    // Open, bound (with SO_REUSEADDR unless told otherwise, as Asio's) and listening; throws
    // boost::system::system_error (address_in_use...).
    TcpAcceptor(const executor_type& ex, Stack& stack, SockAddr local,
                int backlog = boost::asio::socket_base::max_listen_connections,
                bool reuse_address = true)
        : TcpAcceptor(ex, stack) {
        open();
        if (reuse_address)
            throw_if(core_->call([](TcpSocket& s) { return s.set_reuseaddr(true); }), "reuse");
        bind(local);
        listen(backlog);
    }
    template <class ExecutionContext,
              std::enable_if_t<std::is_convertible_v<ExecutionContext&,
                                                     boost::asio::execution_context&>,
                               int> = 0>
    TcpAcceptor(ExecutionContext& ctx, Stack& stack, SockAddr local,
                int backlog = boost::asio::socket_base::max_listen_connections)
        : TcpAcceptor(ctx.get_executor(), stack, local, backlog) {}

    TcpAcceptor(TcpAcceptor&& other) noexcept
        : ex_(other.ex_), stack_(other.stack_), core_(std::move(other.core_)) {}
    TcpAcceptor& operator=(TcpAcceptor&& other) noexcept {
        if (this != &other) {
            if (core_) core_->close();
            ex_ = other.ex_;
            stack_ = other.stack_;
            core_ = std::move(other.core_);
        }
        return *this;
    }
    ~TcpAcceptor() {
        if (core_) core_->close();
    }

    executor_type get_executor() const noexcept { return ex_; }
    bool is_open() const { return core_ && core_->is_open(); }
    void open() { throw_if(core_ ? core_->open() : bad_descriptor(), "open"); }
    boost::system::error_code bind(SockAddr local, boost::system::error_code& ec) {
        return ec = call([local](TcpSocket& s) { return s.bind(local); });
    }
    void bind(SockAddr local) {
        boost::system::error_code ec;
        throw_if(bind(local, ec), "bind");
    }
    boost::system::error_code listen(int backlog, boost::system::error_code& ec) {
        return ec = call([backlog](TcpSocket& s) { return s.listen(backlog); });
    }
    void listen(int backlog = boost::asio::socket_base::max_listen_connections) {
        boost::system::error_code ec;
        throw_if(listen(backlog, ec), "listen");
    }
    SockAddr local_endpoint() const {
        SockAddr a;
        throw_if(call([&](TcpSocket& s) {
                     a = s.local_address();
                     return std::error_code{};
                 }),
                 "local_endpoint");
        return a;
    }
    // Closing completes a parked accept with operation_aborted.
    void close() {
        if (core_) core_->close();
    }
    void cancel() {
        if (core_) core_->cancel();
    }

    // The accepted stream uses the acceptor's executor, or peer_ex.
    template <class AcceptToken>
    auto async_accept(AcceptToken&& token) {
        return async_accept(ex_, std::forward<AcceptToken>(token));
    }
    template <class AcceptToken>
    auto async_accept(const executor_type& peer_ex, AcceptToken&& token) {
        return boost::asio::async_initiate<AcceptToken,
                                           void(boost::system::error_code, TcpStream)>(
            [core = core_, ex = ex_, stack = stack_](auto handler, executor_type pex) {
                using H = decltype(handler);
                if (!core)
                    return detail::post_result(ex, std::move(handler), bad_descriptor(),
                                               TcpStream(pex, *stack));
                core->start(detail::SocketCore::kRead,
                            std::make_unique<detail::AcceptOp<H>>(std::move(handler),
                                                                  core->executor(), pex,
                                                                  *stack));
            },
            token, peer_ex);
    }

private:
    static boost::system::error_code bad_descriptor() {
        return boost::asio::error::bad_descriptor;
    }
    static void throw_if(const boost::system::error_code& ec, const char* what) {
        if (ec) throw boost::system::system_error(ec, what);
    }
    template <class F>
    boost::system::error_code call(F&& f) const {
        return core_ ? core_->call(std::forward<F>(f)) : bad_descriptor();
    }

    executor_type ex_;
    Stack* stack_;
    std::shared_ptr<detail::SocketCore> core_;
};

}  // namespace vlo::asio_adapter
