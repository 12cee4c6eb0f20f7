// netcat-openbsd's connect, listen, scan and copy loops over a vlo Stack: what vlo-nc runs, as a
// function so tests can drive it in-process with pipes for stdin and stdout.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "apps/nc/nc_options.hpp"
#include "stack/stack.hpp"

namespace vlo::nc {

struct NcIo {
    int in = STDIN_FILENO;    // what "stdin" is copied from (-d: not read)
    int out = STDOUT_FILENO;  // where what the network sends is written
    FILE* err = stderr;       // netcat's messages, each "vlo-nc: ..." or a -v report line
    // Called when a TCP session's copying is over, before netcat closes its socket: the last
    // moment the connection's state can be seen (--stat's ss listing).
    std::function<void()> session_end{};
};

// Runs netcat on `stack` and returns its exit status: 0 when a connection (or, with -l, a
// session) happened, 1 on netcat's errors (refused, bind failed, bad port...). Every wait is a
// slice of at most 100 ms, so it returns within that of the session's end.
int run_nc(Stack& stack, const NcOptions& options, const NcIo& io = {});

// The name a -v report gives an address: its first name in /etc/hosts, as getnameinfo finds it
// through the "files" source, else the dotted quad (always with -n). vlo never asks DNS.
std::string host_name(Ipv4Address addr, bool numeric);
// getaddrinfo for a host, limited to what needs no resolver: inet_aton's forms ("127.1"), and
// unless -n the names in /etc/hosts and "localhost".
std::optional<Ipv4Address> resolve_host(const std::string& name, bool numeric);

}  // namespace vlo::nc
