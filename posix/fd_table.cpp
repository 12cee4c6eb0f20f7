#include "posix/fd_table.hpp"

#include <cerrno>

namespace vlo::posix {

int FdTable::install(std::shared_ptr<File> file, bool cloexec) {
    std::lock_guard l(mu_);
    int fd = kFirstFd;
    for (const auto& [n, e] : fds_) {  // ordered: the first gap is the lowest free number
        if (n != fd) break;
        ++fd;
    }
    if (fd >= kNoFile) return -EMFILE;
    fds_[fd] = Entry{std::move(file), cloexec};
    return fd;
}

std::shared_ptr<File> FdTable::get(int fd) const {
    std::lock_guard l(mu_);
    auto it = fds_.find(fd);
    return it == fds_.end() ? nullptr : it->second.file;
}

std::shared_ptr<File> FdTable::remove(int fd) {
    std::lock_guard l(mu_);
    auto it = fds_.find(fd);
    if (it == fds_.end()) return nullptr;
    auto f = std::move(it->second.file);
    fds_.erase(it);
    return f;
}

int FdTable::cloexec(int fd) const {
    std::lock_guard l(mu_);
    auto it = fds_.find(fd);
    if (it == fds_.end()) return -EBADF;
    return it->second.cloexec ? FD_CLOEXEC : 0;
}

int FdTable::set_cloexec(int fd, bool on) {
    std::lock_guard l(mu_);
    auto it = fds_.find(fd);
    if (it == fds_.end()) return -EBADF;
    it->second.cloexec = on;
    return 0;
}

std::vector<std::shared_ptr<File>> FdTable::remove_all() {
    std::lock_guard l(mu_);
    std::vector<std::shared_ptr<File>> all;
    for (auto& [n, e] : fds_) all.push_back(std::move(e.file));
    fds_.clear();
    return all;
}

}  // namespace vlo::posix
