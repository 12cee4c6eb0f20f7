#include "frontend/tc.hpp"

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string_view>

#include "frontend/netem_words.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/netem.hpp"

namespace vlo::frontend {

namespace {

// iproute2's matches(): a word may be any prefix of the keyword.
bool matches(std::string_view word, std::string_view keyword) {
    return !word.empty() && keyword.substr(0, word.size()) == word;
}

TcResult failure(std::string error, bool usage) { return {false, {}, std::move(error), usage}; }

TcResult no_device(const std::string& name) {
    return failure("Cannot find device \"" + name + "\"", false);
}

// sprint_size: the backlog in bytes, as tc shows it ("0b", "12Kb", "3Mb").
std::string size_text(std::uint64_t sz) {
    constexpr double kilo = 1024, mega = kilo * kilo, giga = mega * kilo;
    const double v = static_cast<double>(sz);
    char buf[64];
    if (v >= giga && std::fabs(giga * std::rint(v / giga) - v) < 1024)
        std::snprintf(buf, sizeof buf, "%gGb", std::rint(v / giga));
    else if (v >= mega && std::fabs(mega * std::rint(v / mega) - v) < 1024)
        std::snprintf(buf, sizeof buf, "%gMb", std::rint(v / mega));
    else if (v >= kilo && std::fabs(kilo * std::rint(v / kilo) - v) < 16)
        std::snprintf(buf, sizeof buf, "%gKb", std::rint(v / kilo));
    else
        std::snprintf(buf, sizeof buf, "%llub", static_cast<unsigned long long>(sz));
    return buf;
}

std::string u(std::uint64_t v) { return std::to_string(v); }

TcResult show(Stack& stack, const std::vector<std::string>& args, std::size_t i, bool stats) {
    std::string dev;
    for (; i < args.size(); ++i) {
        if (args[i] == "dev" && i + 1 < args.size())
            dev = args[++i];
        else if (args[i] == "dev")
            return failure("Command line is not complete. Try option \"help\"", true);
        else
            return failure("What is \"" + args[i] + "\"? Try \"tc qdisc help\".", true);
    }
    TcResult r{true, {}, {}, false};
    if (!dev.empty()) {
        Device* d = stack.find_device(dev);
        if (!d) return no_device(dev);
        r.output = tc_qdisc_show(*d, stats);
        return r;
    }
    for (const auto& d : stack.devices()) r.output += tc_qdisc_show(*d, stats);
    return r;
}

enum class Verb { add, change, replace, del };

// tc_qdisc_modify: dev, root (or handle) before the kind, then the kind's own options.
TcResult modify(Stack& stack, Verb verb, const std::vector<std::string>& args, std::size_t i) {
    std::string dev, kind;
    bool root = false;
    for (; i < args.size() && kind.empty(); ++i) {
        const std::string& w = args[i];
        if (w == "dev" || w == "handle" || w == "parent") {
            if (i + 1 == args.size())
                return failure("Command line is not complete. Try option \"help\"", true);
            if (w == "dev") dev = args[i + 1];
            if (w == "parent")
                return failure("Error: vlo has only root qdiscs: use \"root\".", true);
            ++i;
        } else if (w == "root") {
            root = true;
        } else {
            kind = w;
        }
    }
    if (dev.empty()) return failure("Cannot find device \"\"", false);
    if (!stack.find_device(dev)) return no_device(dev);
    if (!root)
        return failure("Error: vlo has only root qdiscs: \"dev " + dev + " root netem ...\".",
                       true);
    if (!kind.empty() && kind != "netem")
        return failure("Error: Specified qdisc kind is unknown.", false);
    std::string options;
    for (; i < args.size(); ++i) options += (options.empty() ? "" : " ") + args[i];

    if (verb == Verb::del) {
        if (!options.empty())
            return failure("What is \"" + options + "\"? Try \"tc qdisc help\".", true);
        // qdisc_graft of the default back.
        if (stack.qdisc_del(dev))
            return failure("Error: Cannot delete qdisc with handle of zero.", false);
        return {true, {}, {}, false};
    }
    if (kind.empty()) return failure("Error: Qdisc kind is missing: \"root netem OPTIONS\".", true);
    NetemParseResult parsed = parse_netem(options);
    if (!parsed) return failure(parsed.error, true);
    const QdiscOp op = verb == Verb::add      ? QdiscOp::add
                       : verb == Verb::change ? QdiscOp::change
                                              : QdiscOp::replace;
    const std::error_code ec = stack.qdisc_netem(dev, op, *parsed.spec);
    if (ec == std::errc::file_exists)
        return failure("Error: Exclusivity flag on, cannot modify.", false);
    if (ec == std::errc::no_such_file_or_directory)
        return failure("Error: Qdisc not found. To create specify NLM_F_CREATE flag.", false);
    if (ec) return failure(ec.message(), false);
    return {true, {}, {}, false};
}

}  // namespace

std::string tc_qdisc_show(Device& dev, bool stats) {
    return with_root_qdisc(dev, [&](Qdisc* q) {
        std::string head;
        QdiscStats s;
        std::string xstats;
        const std::string root = " dev " + dev.name() + " root refcnt 2 ";
        if (!q) {
            head = "qdisc noqueue 0:" + root;
        } else {
            char handle[16];
            std::snprintf(handle, sizeof handle, "%x:", q->handle());
            head = "qdisc " + std::string(q->kind()) + " " + handle + root;
            s = q->stats();
            if (q->kind() == "pfifo_fast") {
                head += "bands 3 priomap";
                for (std::uint8_t band : PfifoFastQdisc::kPriomap) head += " " + u(band);
            } else if (auto* netem = dynamic_cast<NetemQdisc*>(q)) {
                const NetemStats x = netem->xstats();
                head += netem_print_opt(netem->spec(), netem->seed());
                xstats = "  delayed " + u(x.delayed) + " dropped " + u(x.lost) + " corrupted " +
                         u(x.corrupted) + " duplicated " + u(x.duplicated) + " reordered " +
                         u(x.reordered) + " ecn_marked " + u(x.ecn_mark);
                if (x.alloc_errors) xstats += " alloc_errors " + u(x.alloc_errors);
                xstats +=
                    " rate_waits " + u(x.rate_waits) + " limit_drops " + u(x.limit_drops) + "\n";
            }
        }
        std::string text = head + "\n";
        if (!stats) return text;
        text += " Sent " + u(s.bytes) + " bytes " + u(s.packets) + " pkt (dropped " + u(s.drops) +
                ", overlimits " + u(s.overlimits) + " requeues " + u(s.requeues) + ") \n";
        text += " backlog " + size_text(s.backlog_bytes) + " " + u(s.backlog_packets) +
                "p requeues " + u(s.requeues) + "\n";
        return text + xstats;
    });
}

TcResult tc_command(Stack& stack, const std::vector<std::string>& args) {
    bool stats = false;
    std::size_t i = 0;
    for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
        const std::string_view opt = std::string_view(args[i]).substr(args[i][1] == '-' ? 2 : 1);
        if (matches(opt, "statistics"))
            stats = true;
        else if (!matches(opt, "details") && !matches(opt, "pretty"))
            return failure("Option \"" + args[i] + "\" is unknown, try \"tc -help\".", true);
    }
    if (i == args.size())
        return failure("Usage: tc [ OPTIONS ] qdisc { add | change | replace | del | show } ...",
                       true);
    if (!matches(args[i], "qdisc"))
        return failure("Object \"" + args[i] + "\" is unknown, try \"tc help\".", true);
    ++i;
    if (i == args.size()) return show(stack, args, i, stats);
    const std::string& cmd = args[i++];
    if (matches(cmd, "show") || matches(cmd, "list") || cmd == "ls")
        return show(stack, args, i, stats);
    if (matches(cmd, "add")) return modify(stack, Verb::add, args, i);
    if (matches(cmd, "change")) return modify(stack, Verb::change, args, i);
    if (matches(cmd, "replace")) return modify(stack, Verb::replace, args, i);
    if (matches(cmd, "delete")) return modify(stack, Verb::del, args, i);
    return failure("Command \"" + cmd + "\" is unknown, try \"tc qdisc help\".", true);
}

}  // namespace vlo::frontend
