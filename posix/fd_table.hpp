// The descriptor table (struct fdtable): the lowest free number for each new file
// (__alloc_fd), FD_CLOEXEC per descriptor, RLIMIT_NOFILE's default of 1024. 0, 1 and 2 are
// never handed out, as a process's standard streams hold them: the first socket is 3, as
// packetdrill's scripts expect.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "posix/file.hpp"

namespace vlo::posix {

class FdTable {
  public:
    static constexpr int kFirstFd = 3;
    static constexpr int kNoFile = 1024;  // RLIMIT_NOFILE

    // The new descriptor, or -EMFILE.
    int install(std::shared_ptr<File> file, bool cloexec);
    std::shared_ptr<File> get(int fd) const;  // null if fd is not open
    std::shared_ptr<File> remove(int fd);     // null if fd is not open
    int cloexec(int fd) const;                // FD_CLOEXEC or 0; -EBADF
    int set_cloexec(int fd, bool on);         // 0 or -EBADF
    std::vector<std::shared_ptr<File>> remove_all();

  private:
    struct Entry {
        std::shared_ptr<File> file;
        bool cloexec = false;
    };
    mutable std::mutex mu_;
    std::map<int, Entry> fds_;
};

}  // namespace vlo::posix
