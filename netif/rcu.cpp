#include "netif/rcu.hpp"

namespace vlo::rcu {

namespace {

std::atomic<Slot*> g_slots{nullptr};  // every slot ever made; never shrinks

Slot* acquire_slot() {
    for (Slot* s = g_slots.load(std::memory_order_acquire); s; s = s->next) {
        bool free = false;
        if (s->taken.compare_exchange_strong(free, true)) return s;
    }
    auto* s = new Slot;  // lives as long as the process, for whichever thread comes next
    s->taken.store(true);
    Slot* head = g_slots.load(std::memory_order_relaxed);
    do s->next = head;
    while (!g_slots.compare_exchange_weak(head, s, std::memory_order_release,
                                          std::memory_order_relaxed));
    return s;
}

struct Holder {
    Slot* slot = acquire_slot();
    ~Holder() { slot->taken.store(false, std::memory_order_release); }  // nesting is 0 by now
};

}  // namespace

Slot& this_slot() {
    thread_local Holder h;
    return *h.slot;
}

bool quiescent() {
    // A slot that is not taken has nesting 0; reading it anyway costs nothing.
    for (Slot* s = g_slots.load(std::memory_order_acquire); s; s = s->next)
        if (s->nesting.load(std::memory_order_seq_cst) != 0) return false;
    return true;
}

}  // namespace vlo::rcu
