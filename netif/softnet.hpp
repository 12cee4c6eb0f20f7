// struct softnet_data: one per CPU. The backlog queue, the counters /proc/net/softnet_stat
// prints, and the NET_RX state of that CPU.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "netif/backlog_queue.hpp"

namespace vlo {

// Where a NET_RX run happened; the lab compares these.
enum class RxContext { sender, ksoftirqd, busypoll, direct };

struct Softnet {
    Softnet(unsigned cpu_index, std::unique_ptr<BacklogQueue> q)
        : cpu(cpu_index), queue(std::move(q)) {}

    const unsigned cpu;
    const std::unique_ptr<BacklogQueue> queue;

    // softnet_stat columns the model keeps (the others are always zero on Linux too).
    std::atomic<std::uint32_t> processed{0};
    std::atomic<std::uint32_t> dropped{0};
    std::atomic<std::uint32_t> time_squeeze{0};
    std::atomic<std::uint32_t> received_rps{0};
    std::atomic<std::uint32_t> flow_limit_count{0};
    // When the running NET_RX round began (trace clock), read only while someone traces.
    std::int64_t round_start_ns = 0;

    // NET_RX_SOFTIRQ raised for this CPU and not yet run.
    std::atomic<std::uint32_t> pending{0};
    // A thread is running NET_RX for this CPU (softirqs of one CPU never run concurrently).
    std::atomic<bool> running{false};

    // Which threads ran NET_RX, and how often ksoftirqd was woken.
    std::atomic<std::uint64_t> runs_in_sender{0};
    std::atomic<std::uint64_t> runs_in_ksoftirqd{0};
    std::atomic<std::uint64_t> runs_in_busypoll{0};
    std::atomic<std::uint64_t> ksoftirqd_wakeups{0};

    // ksoftirqd/N
    std::thread ksoftirqd;
    std::atomic<std::uint32_t> wake_seq{0};
    std::atomic<bool> ksoftirqd_sleeping{false};
};

// One line of /proc/net/softnet_stat, exactly as softnet_seq_show prints it (Linux 6.x):
// processed dropped time_squeeze 0 0 0 0 0 0 received_rps flow_limit_count
// backlog_len cpu input_qlen process_qlen, each %08x.
std::string softnet_stat_line(const Softnet& sd);

}  // namespace vlo
