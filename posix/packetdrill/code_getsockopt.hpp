// packetdrill's code events (`%{ assert tcpi_snd_cwnd == 10 }%`) read TCP_INFO, TCP_CC_INFO and
// SO_MEMINFO with libc's getsockopt on the descriptor the --so_filename interface returned
// (code.c's get_data does not go through the interface, unlike the script's own getsockopt
// lines). Without help they would ask the host kernel about a descriptor number vlo handed out.
// So the adapter points the packetdrill executable's GOT entry for getsockopt at a function
// that answers from vlo for the descriptors vlo has open and calls libc's for any other.
#pragma once

#include <sys/socket.h>

namespace vlo::posix {

using GetsockoptFn = int (*)(int fd, int level, int name, void* val, socklen_t* len);

// Rewrites the main program's relocated slot(s) for `getsockopt` to `fn`. False (and nothing
// changed) if the program imports no getsockopt or its GOT cannot be made writable.
bool redirect_program_getsockopt(GetsockoptFn fn);

}  // namespace vlo::posix
