// A backlog queue design from outside vlo: the kernel's lock-less list (include/linux/llist.h)
// as input_pkt_queue. Producers push with one compare-and-swap on the list head (llist_add); the
// consumer takes the whole list with one exchange (llist_del_all), reverses it into arrival
// order and works from that private process queue, as process_backlog does from its splice.
// No lock anywhere; the bound is an atomic count checked before the push.
//
// Built as its own project against the installed vlo (CMakeLists.txt beside this file), loaded
// by `vlo-lab --plugin libvlo_llist_queue.so`, which runs it beside list and ring.
#include <atomic>
#include <cstdint>
#include <memory>

#include "netif/backlog_queue.hpp"
#include "netif/designs.hpp"

namespace {

class LlistQueue final : public vlo::BacklogQueue {
  public:
    ~LlistQueue() override {
        while (vlo::PacketPtr p = dequeue()) {
        }
    }
    std::string_view name() const override { return "llist"; }

    vlo::PacketPtr enqueue(vlo::PacketPtr pkt, std::uint32_t max_backlog) override {
        // enqueue_to_backlog's test, qlen <= max_backlog, on a count producers race for.
        if (input_len_.fetch_add(1, std::memory_order_relaxed) > max_backlog) {
            input_len_.fetch_sub(1, std::memory_order_relaxed);
            return pkt;
        }
        vlo::Packet* p = pkt.release();
        vlo::Packet* first = head_.load(std::memory_order_relaxed);
        do p->next = first;  // llist_add
        while (!head_.compare_exchange_weak(first, p, std::memory_order_release,
                                            std::memory_order_relaxed));
        return nullptr;
    }

    vlo::PacketPtr dequeue() override {
        if (!process_) {
            // llist_del_all, then llist_reverse_order: newest-first becomes arrival order.
            vlo::Packet* list = head_.exchange(nullptr, std::memory_order_acquire);
            std::uint32_t n = 0;
            for (vlo::Packet* rev = nullptr; list; ++n) {
                vlo::Packet* next = list->next;
                list->next = rev;
                rev = list;
                list = next;
                process_ = rev;
            }
            input_len_.fetch_sub(n, std::memory_order_relaxed);
            process_len_.store(n, std::memory_order_relaxed);
        }
        vlo::Packet* p = process_;
        if (!p) return nullptr;
        process_ = p->next;
        p->next = nullptr;
        process_len_.fetch_sub(1, std::memory_order_relaxed);
        return vlo::PacketPtr(p);
    }

    std::uint32_t input_qlen() const override { return input_len_.load(std::memory_order_relaxed); }
    std::uint32_t process_qlen() const override {
        return process_len_.load(std::memory_order_relaxed);
    }

  private:
    std::atomic<vlo::Packet*> head_{nullptr};  // producers' end, newest first
    std::atomic<std::uint32_t> input_len_{0};
    vlo::Packet* process_ = nullptr;  // consumer-owned, oldest first
    std::atomic<std::uint32_t> process_len_{0};
};

}  // namespace

extern "C" void vlo_plugin_register() {
    vlo::register_queue_design(
        "llist", [](std::uint32_t) { return std::unique_ptr<vlo::BacklogQueue>(new LlistQueue); });
}
