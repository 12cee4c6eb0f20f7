#include "tools/vlod/tc_command.hpp"

#include <cstddef>
#include <string_view>

namespace vlo::vlod {

namespace {

// iproute2's matches(): a word may be any prefix of the keyword.
bool matches(std::string_view word, std::string_view keyword) {
    return !word.empty() && keyword.substr(0, word.size()) == word;
}

TcResult failure(std::string error, bool usage) { return {false, {}, std::move(error), usage}; }

TcResult no_device(const std::string& name) {
    return failure("Cannot find device \"" + name + "\"", false);
}

// tc_qdisc_list's text for one device: a netem's own lines with "dev DEV" put in, as tc shows
// it, or the noqueue a device without a qdisc has.
std::string show_device(const LiveDevice& d, bool stats) {
    std::string text;
    if (d.qdisc) {
        text = d.netem->tc_show();
        const std::string root = "8001: ";
        if (const std::size_t at = text.find(root); at != std::string::npos)
            text.insert(at + root.size(), "dev " + d.name + " ");
    } else {
        text = "qdisc noqueue 0: dev " + d.name +
               " root refcnt 2 \n"
               " Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n"
               " backlog 0b 0p requeues 0\n";
    }
    if (!stats) text.resize(text.find('\n') + 1);
    return text;
}

TcResult show(LiveDevices& live, const std::vector<std::string>& args, std::size_t i, bool stats) {
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
        const LiveDevice* d = live.find(dev);
        if (!d) return no_device(dev);
        r.output = show_device(*d, stats);
        return r;
    }
    for (const LiveDevice& d : live.devices()) r.output += show_device(d, stats);
    return r;
}

enum class Verb { add, change, replace, del };

// tc_qdisc_modify: dev, root (or handle) before the kind, then the kind's own options.
TcResult modify(LiveDevices& live, Verb verb, const std::vector<std::string>& args, std::size_t i) {
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
    LiveDevice* d = live.find(dev);
    if (!d) return no_device(dev);
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
        // qdisc_graft of the default: an empty spec, which sends everything at once.
        if (!d->qdisc) return failure("Error: Cannot delete qdisc with handle of zero.", false);
        d->netem->change(NetemSpec{});
        d->qdisc = false;
        return {true, {}, {}, false};
    }
    if (kind.empty()) return failure("Error: Qdisc kind is missing: \"root netem OPTIONS\".", true);
    if (verb == Verb::add && d->qdisc)
        return failure("Error: Exclusivity flag on, cannot modify.", false);
    if (verb == Verb::change && !d->qdisc)
        return failure("Error: Qdisc not found. To create specify NLM_F_CREATE flag.", false);
    if (std::string error = d->netem->change(options); !error.empty()) return failure(error, true);
    d->qdisc = true;
    return {true, {}, {}, false};
}

}  // namespace

TcResult tc_command(LiveDevices& live, const std::vector<std::string>& args) {
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
    if (i == args.size()) return show(live, args, i, stats);
    const std::string& cmd = args[i++];
    if (matches(cmd, "show") || matches(cmd, "list") || cmd == "ls")
        return show(live, args, i, stats);
    if (matches(cmd, "add")) return modify(live, Verb::add, args, i);
    if (matches(cmd, "change")) return modify(live, Verb::change, args, i);
    if (matches(cmd, "replace")) return modify(live, Verb::replace, args, i);
    if (matches(cmd, "delete")) return modify(live, Verb::del, args, i);
    return failure("Command \"" + cmd + "\" is unknown, try \"tc qdisc help\".", true);
}

}  // namespace vlo::vlod
