#include "netif/softnet.hpp"

#include <cstdio>

namespace vlo {

std::string softnet_stat_line(const Softnet& sd) {
    const std::uint32_t input_qlen = sd.queue->input_qlen();
    const std::uint32_t process_qlen = sd.queue->process_qlen();
    char line[160];
    std::snprintf(line, sizeof line,
                  "%08x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x\n",
                  sd.processed.load(), sd.dropped.load(), sd.time_squeeze.load(), 0u, 0u, 0u, 0u,
                  0u, 0u, /* was fastroute, cpu_collision */ sd.received_rps.load(),
                  sd.flow_limit_count.load(), input_qlen + process_qlen, sd.cpu, input_qlen,
                  process_qlen);
    return line;
}

}  // namespace vlo
