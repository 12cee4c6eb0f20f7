#include "tools/control/tool_command.hpp"

#include <cstdio>
#include <cstring>

#include "tools/control/control_client.hpp"

namespace vlo::control {

ToolArgs parse_tool_args(int argc, char** argv) {
    ToolArgs t;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--control") {
            if (i + 1 == argc) {
                t.error = "option '--control' requires an argument";
                return t;
            }
            t.control = argv[++i];
        } else if (a.rfind("--control=", 0) == 0) {
            t.control = a.substr(std::strlen("--control="));
        } else if (a == "-h" || a == "--help") {
            t.help = true;
        } else {
            break;  // the wrapped tool's first word
        }
    }
    t.words.assign(argv + i, argv + argc);
    if (!t.help && t.control.empty()) t.error = "--control <path> is required (before the command)";
    return t;
}

int run_tool_command(const char* prog, const std::string& control, const std::string& cmd,
                     const std::vector<std::string>& words, const std::string& usage_hint) {
    std::string error;
    const auto reply = request(control, {{"cmd", cmd}, {"args", words}}, error);
    if (!reply) {
        std::fprintf(stderr, "%s: %s\n", prog, error.c_str());
        return 1;
    }
    if (!reply->value("ok", false)) {
        const bool usage = reply->value("usage", false);
        std::fprintf(stderr, "%s\n", reply->value("error", std::string("failed")).c_str());
        if (usage && !usage_hint.empty()) std::fprintf(stderr, "%s\n", usage_hint.c_str());
        return usage ? 2 : 1;
    }
    std::fputs(reply->value("output", std::string()).c_str(), stdout);
    return 0;
}

int tool_main(int argc, char** argv, const char* prog, const char* usage, const std::string& cmd,
              const std::string& usage_hint) {
    const ToolArgs t = parse_tool_args(argc, argv);
    if (t.help) {
        std::fputs(usage, stdout);
        return 0;
    }
    if (!t.error.empty()) {
        std::fprintf(stderr, "%s: %s\n%s", prog, t.error.c_str(), usage);
        return 2;
    }
    return run_tool_command(prog, t.control, cmd, t.words, usage_hint);
}

}  // namespace vlo::control
