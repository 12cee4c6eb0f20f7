// Read-mostly state published to lock-free readers and reclaimed once no reader can hold it
// (the kernel's RCU, reduced). A reader brackets its use with a ReadGuard (rcu_read_lock): one
// increment and one decrement of its own thread's nesting counter, on a cache line of its own,
// so readers on different CPUs never share a line. A writer (serialised by the owner) publishes
// a new version and retires the old one; retired versions are freed the first time the writer
// sees every thread's counter at zero, which proves every reader that could have loaded them is
// gone (a reader loads the pointer only after it is counted). So a rule set replaced 4000 times
// keeps at most the versions readers were using at the moment, not all 4000.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace vlo {

namespace rcu {

// One per thread that ever read, reused after the thread ends.
struct alignas(64) Slot {
    std::atomic<std::uint32_t> nesting{0};
    std::atomic<bool> taken{false};
    Slot* next = nullptr;  // the registry's list, only ever pushed
};

// This thread's slot (registered on first use).
Slot& this_slot();
// No thread is inside a read-side section now (synchronize_rcu's test).
bool quiescent();

inline void read_lock() { this_slot().nesting.fetch_add(1, std::memory_order_seq_cst); }
inline void read_unlock() { this_slot().nesting.fetch_sub(1, std::memory_order_release); }

}  // namespace rcu

template <class T>
class RcuPtr {
  public:
    RcuPtr() = default;
    explicit RcuPtr(std::unique_ptr<T> first) { publish(std::move(first)); }
    ~RcuPtr() {
        delete active_.load(std::memory_order_relaxed);
        retired_.clear();
    }
    RcuPtr(const RcuPtr&) = delete;
    RcuPtr& operator=(const RcuPtr&) = delete;

    // rcu_read_lock .. rcu_read_unlock around one use of the current version.
    class ReadGuard {
      public:
        explicit ReadGuard(const RcuPtr& p) : slot_(rcu::this_slot()) {
            slot_.nesting.fetch_add(1, std::memory_order_seq_cst);
            ptr_ = p.active_.load(std::memory_order_seq_cst);
        }
        ~ReadGuard() { slot_.nesting.fetch_sub(1, std::memory_order_release); }
        ReadGuard(const ReadGuard&) = delete;
        ReadGuard& operator=(const ReadGuard&) = delete;
        T* get() const { return ptr_; }
        T* operator->() const { return ptr_; }
        explicit operator bool() const { return ptr_ != nullptr; }

      private:
        rcu::Slot& slot_;
        T* ptr_;
    };

    // A look without protection: only to test for null (nothing to protect) on a fast path, or
    // by the writer.
    T* peek() const { return active_.load(std::memory_order_acquire); }

    // rcu_assign_pointer + call_rcu of the old version: the caller serialises writers.
    void publish(std::unique_ptr<T> next) {
        T* old = active_.exchange(next.release(), std::memory_order_seq_cst);
        if (old) retired_.emplace_back(old);
        reclaim();
    }
    // Takes the current version out (published null) and hands it back once no reader holds
    // it (synchronize_rcu): for a version its owner must tear down itself.
    std::unique_ptr<T> take() {
        std::unique_ptr<T> old(active_.exchange(nullptr, std::memory_order_seq_cst));
        synchronize();
        return old;
    }
    // Waits until no reader holds anything this published before the call. Not from inside a
    // read-side section.
    void synchronize() {
        while (!rcu::quiescent()) std::this_thread::yield();
        retired_.clear();
    }
    // Frees the retired versions if no reader is inside now. Writer only.
    void reclaim() {
        if (!retired_.empty() && rcu::quiescent()) retired_.clear();
    }
    std::size_t retired() const { return retired_.size(); }

  private:
    std::atomic<T*> active_{nullptr};
    std::vector<std::unique_ptr<T>> retired_;  // writer only
};

}  // namespace vlo
