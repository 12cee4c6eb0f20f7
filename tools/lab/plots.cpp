#include "tools/lab/plots.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace vlo::lab {

namespace {

// plot.py next to the executable (the build copies it there), else in the source tree.
std::string find_script() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto beside = exe.parent_path() / "plot.py";
        if (std::filesystem::exists(beside, ec)) return beside.string();
    }
    return VLO_LAB_PLOT_SCRIPT;
}

// Debian's interpreter first: python3-matplotlib installs into it, whatever else is on PATH.
const char* python() {
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

}  // namespace

std::string draw_plots(const std::string& json_path, const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return "cannot create " + dir + ": " + ec.message();
    const std::string script = find_script();
    const char* py = python();
    const pid_t pid = fork();
    if (pid < 0) return std::string("fork: ") + std::strerror(errno);
    if (pid == 0) {
        execlp(py, py, script.c_str(), json_path.c_str(), dir.c_str(), static_cast<char*>(nullptr));
        std::fprintf(stderr, "vlo-lab: cannot run %s: %s\n", py, std::strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return std::string("waitpid: ") + std::strerror(errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return std::string(py) + " " + script + " failed (status " +
               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
    return {};
}

}  // namespace vlo::lab
