#include "frontend/iptables/rule_parser.hpp"

#include <netdb.h>

#include <cctype>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "frontend/iptables/extension_values.hpp"
#include "frontend/iptables/parse_util.hpp"

namespace vlo::nf {

std::string parameter_problem(std::string_view msg) {
    std::string s = "iptables v";
    s += kIptablesVersion;
    s += ": ";
    s += msg;
    return s;
}

namespace {

// ---- the command's own options (iptables.c original_opts, xshared.h OPT_*) ----

enum Cmd : unsigned {
    CMD_NONE = 0,
    CMD_INSERT = 1u << 0,
    CMD_DELETE = 1u << 1,
    CMD_DELETE_NUM = 1u << 2,
    CMD_REPLACE = 1u << 3,
    CMD_APPEND = 1u << 4,
    CMD_LIST = 1u << 5,
    CMD_FLUSH = 1u << 6,
    CMD_ZERO = 1u << 7,
    CMD_NEW_CHAIN = 1u << 8,
    CMD_DELETE_CHAIN = 1u << 9,
    CMD_SET_POLICY = 1u << 10,
    CMD_RENAME_CHAIN = 1u << 11,
    CMD_LIST_RULES = 1u << 12,
    CMD_ZERO_NUM = 1u << 13,
    CMD_CHECK = 1u << 14,
};

char cmd2char(unsigned cmd) {
    static constexpr char kFlags[] = {'I', 'D', 'D', 'R', 'A', 'L', 'F', 'Z',
                                      'N', 'X', 'P', 'E', 'S', 'Z', 'C'};
    int i = 0;
    for (; cmd > 1; cmd >>= 1) ++i;
    return kFlags[i];
}

enum Opt : unsigned {
    OPT_NUMERIC = 1u << 0,
    OPT_SOURCE = 1u << 1,
    OPT_DESTINATION = 1u << 2,
    OPT_PROTOCOL = 1u << 3,
    OPT_JUMP = 1u << 4,
    OPT_VERBOSE = 1u << 5,
    OPT_EXPANDED = 1u << 6,
    OPT_VIANAMEIN = 1u << 7,
    OPT_VIANAMEOUT = 1u << 8,
    OPT_LINENUMBERS = 1u << 9,
    OPT_FRAGMENT = 1u << 10,
};
constexpr unsigned kOptCount = 11;

const char* option_name(unsigned opt) {  // ip46t_option_name
    switch (opt) {
        case OPT_NUMERIC:
            return "--numeric";
        case OPT_SOURCE:
            return "--source";
        case OPT_DESTINATION:
            return "--destination";
        case OPT_PROTOCOL:
            return "--protocol";
        case OPT_JUMP:
            return "--jump";
        case OPT_VERBOSE:
            return "--verbose";
        case OPT_EXPANDED:
            return "--exact";
        case OPT_VIANAMEIN:
            return "--in-interface";
        case OPT_VIANAMEOUT:
            return "--out-interface";
        case OPT_LINENUMBERS:
            return "--line-numbers";
        case OPT_FRAGMENT:
            return "--fragments";
        default:
            return "unknown option";
    }
}

int option_invert(unsigned opt) {  // ip46t_option_invert
    switch (opt) {
        case OPT_SOURCE:
            return kInvSrcIp;
        case OPT_DESTINATION:
            return kInvDstIp;
        case OPT_PROTOCOL:
            return kInvProto;
        case OPT_VIANAMEIN:
            return kInvViaIn;
        case OPT_VIANAMEOUT:
            return kInvViaOut;
        case OPT_FRAGMENT:
            return kInvFrag;
        default:
            return -1;
    }
}

// options_v_commands: the commands each option may go with.
unsigned option_commands(unsigned opt) {
    constexpr unsigned kIdrac = CMD_INSERT | CMD_DELETE | CMD_REPLACE | CMD_APPEND | CMD_CHECK;
    switch (opt) {
        case OPT_NUMERIC:
        case OPT_EXPANDED:
        case OPT_LINENUMBERS:
            return CMD_LIST;
        case OPT_VERBOSE:
            return UINT_MAX;
        default:
            return kIdrac;
    }
}

enum class ArgKind { none, required, optional };

struct MainOption {
    const char* long_name;
    char code;
    ArgKind arg;
};

constexpr MainOption kMainOptions[] = {
    {"append", 'A', ArgKind::required},
    {"delete", 'D', ArgKind::required},
    {"check", 'C', ArgKind::required},
    {"insert", 'I', ArgKind::required},
    {"replace", 'R', ArgKind::required},
    {"list", 'L', ArgKind::optional},
    {"list-rules", 'S', ArgKind::optional},
    {"flush", 'F', ArgKind::optional},
    {"zero", 'Z', ArgKind::optional},
    {"new-chain", 'N', ArgKind::required},
    {"delete-chain", 'X', ArgKind::optional},
    {"rename-chain", 'E', ArgKind::required},
    {"policy", 'P', ArgKind::required},
    {"source", 's', ArgKind::required},
    {"destination", 'd', ArgKind::required},
    {"src", 's', ArgKind::required},
    {"dst", 'd', ArgKind::required},
    {"protocol", 'p', ArgKind::required},
    {"in-interface", 'i', ArgKind::required},
    {"jump", 'j', ArgKind::required},
    {"table", 't', ArgKind::required},
    {"match", 'm', ArgKind::required},
    {"numeric", 'n', ArgKind::none},
    {"out-interface", 'o', ArgKind::required},
    {"verbose", 'v', ArgKind::none},
    {"wait", 'w', ArgKind::optional},
    {"exact", 'x', ArgKind::none},
    {"fragments", 'f', ArgKind::none},
    {"version", 'V', ArgKind::none},
    {"line-numbers", '0', ArgKind::none},
};

const MainOption* find_long(std::string_view name) {
    for (const MainOption& o : kMainOptions)
        if (name == o.long_name) return &o;
    return nullptr;
}

const MainOption* find_short(char c) {
    for (const MainOption& o : kMainOptions)
        if (o.code == c && c != '0') return &o;
    return nullptr;
}

// ---- extensions: matches and targets, each with its option table ----

enum class ExtKind : std::uint8_t { tcp, udp, icmp, statistic, string, reject, log };

struct ExtOption {
    const char* name;
    int id;
    bool has_arg;
    bool invertible;
};

// The option tables, as in each extension's x6_options / struct option.
constexpr ExtOption kTcpOptions[] = {
    {"source-port", 0, true, true}, {"sport", 0, true, true}, {"destination-port", 1, true, true},
    {"dport", 1, true, true},       {"syn", 2, false, true},  {"tcp-flags", 3, true, true}};
constexpr ExtOption kUdpOptions[] = {{"source-port", 0, true, true},
                                     {"sport", 0, true, true},
                                     {"destination-port", 1, true, true},
                                     {"dport", 1, true, true}};
constexpr ExtOption kIcmpOptions[] = {{"icmp-type", 0, true, true}};
constexpr ExtOption kStatisticOptions[] = {{"mode", 0, true, false},
                                           {"probability", 1, true, true},
                                           {"every", 2, true, true},
                                           {"packet", 3, true, false}};
constexpr ExtOption kStringOptions[] = {{"from", 0, true, false},  {"to", 1, true, false},
                                        {"algo", 2, true, false},  {"icase", 3, false, false},
                                        {"string", 4, true, true}, {"hex-string", 5, true, true}};
constexpr ExtOption kRejectOptions[] = {{"reject-with", 0, true, false}};
constexpr ExtOption kLogOptions[] = {
    {"log-level", 6, true, false},         {"log-prefix", 7, true, false},
    {"log-tcp-sequence", 0, false, false}, {"log-tcp-options", 1, false, false},
    {"log-ip-options", 2, false, false},   {"log-uid", 3, false, false},
    {"log-macdecode", 5, false, false}};

std::span<const ExtOption> ext_options(ExtKind k) {
    switch (k) {
        case ExtKind::tcp:
            return kTcpOptions;
        case ExtKind::udp:
            return kUdpOptions;
        case ExtKind::icmp:
            return kIcmpOptions;
        case ExtKind::statistic:
            return kStatisticOptions;
        case ExtKind::string:
            return kStringOptions;
        case ExtKind::reject:
            return kRejectOptions;
        case ExtKind::log:
            return kLogOptions;
    }
    return {};
}

const ExtOption* find_ext_option(ExtKind k, std::string_view name) {
    for (const ExtOption& o : ext_options(k))
        if (name == o.name) return &o;
    return nullptr;
}

std::optional<ExtKind> match_by_name(std::string_view name) {
    if (name == "tcp") return ExtKind::tcp;
    if (name == "udp") return ExtKind::udp;
    if (name == "icmp") return ExtKind::icmp;
    if (name == "statistic") return ExtKind::statistic;
    if (name == "string") return ExtKind::string;
    return std::nullopt;
}

// A loaded match: where its data sits in the rule and which options it has seen.
struct LoadedMatch {
    ExtKind kind;
    std::size_t index;       // into the rule's matches
    unsigned seen = 0;       // 1 << option id, as xflags / the tcp match's flags
    bool completed = false;  // a later -m of the same match takes the options from here on
    bool statistic_invert = false;
};

// ---- the parser ----

class Parser {
  public:
    explicit Parser(std::vector<std::string> words) : argv_(std::move(words)) {}
    Command run();

  private:
    bool has_arg() const {  // xs_has_arg
        return pos_ < argv_.size() && !argv_[pos_].empty() && argv_[pos_][0] != '-' &&
               argv_[pos_][0] != '!';
    }
    void add_command(unsigned newcmd, unsigned othercmds);
    void set_option(unsigned opt);
    void main_option(char code, const std::optional<std::string>& optarg, const std::string& token);
    void ext_option(const std::string& name, const std::optional<std::string>& inline_arg,
                    const std::string& token);
    bool dispatch_ext(const std::string& name, const std::optional<std::string>& inline_arg,
                      const std::string& token);
    void load_match(ExtKind k);
    std::optional<ExtKind> proto_match() const;
    void parse_match_option(LoadedMatch& lm, const ExtOption& o, const std::string& arg);
    void parse_target_option(const ExtOption& o, const std::string& arg);
    void check_x6(const char* ext, unsigned& seen, const ExtOption& o);
    void final_checks();
    std::vector<std::pair<Ipv4Address, Ipv4Address>> parse_addresses(const std::string& spec);

    std::vector<std::string> argv_;
    std::size_t pos_ = 0;
    bool invert_ = false;
    unsigned command_ = CMD_NONE;
    unsigned options_ = 0;
    Command cmd_;
    // The rule being built.
    IpSpec ip_;
    std::vector<Match> matches_;
    std::vector<LoadedMatch> loaded_;
    Target target_;
    std::optional<ExtKind> target_ext_;
    unsigned target_seen_ = 0;
    std::string protocol_;
    bool proto_used_ = false;
    std::string shost_, dhost_;
    int verbose_ = 0;
    bool version_ = false;
};

void Parser::add_command(unsigned newcmd, unsigned othercmds) {
    if (invert_) fail("unexpected '!' flag");
    if (command_ & ~othercmds)
        fail(std::string("Cannot use -") + cmd2char(newcmd) + " with -" +
             cmd2char(command_ & ~othercmds));
    command_ |= newcmd;
}

void Parser::set_option(unsigned opt) {
    if (options_ & opt) fail(std::string("multiple ") + option_name(opt) + " options not allowed");
    options_ |= opt;
    if (invert_) {
        const int inv = option_invert(opt);
        if (inv < 0) fail(std::string("cannot have ! before ") + option_name(opt));
        ip_.invflags |= static_cast<std::uint8_t>(inv);
    }
}

// find_proto: `-p tcp` (or `-p 6`) can load the tcp match, and so for udp and icmp.
std::optional<ExtKind> Parser::proto_match() const {
    switch (ip_.proto) {
        case 6:
            return ExtKind::tcp;
        case 17:
            return ExtKind::udp;
        case 1:
            return ExtKind::icmp;
        default:
            return std::nullopt;
    }
}

void Parser::load_match(ExtKind k) {
    for (LoadedMatch& lm : loaded_)
        if (lm.kind == k) lm.completed = true;
    switch (k) {
        case ExtKind::tcp:
            matches_.emplace_back(TcpMatch{});
            break;
        case ExtKind::udp:
            matches_.emplace_back(UdpMatch{});
            break;
        case ExtKind::icmp:
            matches_.emplace_back(IcmpMatch{});
            break;
        case ExtKind::statistic:
            matches_.emplace_back(StatisticMatch{});
            break;
        case ExtKind::string:
            matches_.emplace_back(StringMatch{});
            break;
        case ExtKind::reject:
        case ExtKind::log:
            return;
    }
    loaded_.push_back(LoadedMatch{k, matches_.size() - 1});
}

void Parser::check_x6(const char* ext, unsigned& seen, const ExtOption& o) {
    // xtables_option_parse's checks, in its order.
    if (seen & (1u << o.id))
        fail(std::string(ext) + ": option \"--" + o.name + "\" can only be used once.");
    if (invert_ && !o.invertible)
        fail(std::string(ext) + ": option \"--" + o.name + "\" cannot be inverted.");
    seen |= 1u << o.id;
}

void Parser::parse_match_option(LoadedMatch& lm, const ExtOption& o, const std::string& arg) {
    Match& m = matches_[lm.index];
    switch (lm.kind) {
        case ExtKind::tcp: {  // tcp_parse: the old-style parser with its own messages
            auto& t = std::get<TcpMatch>(m);
            if (o.id == 0) {
                if (lm.seen & 1) fail("Only one `--source-port' allowed");
                t.sport = parse_tcp_ports(arg);
                t.sport.invert = invert_;
                lm.seen |= 1;
            } else if (o.id == 1) {
                if (lm.seen & 2) fail("Only one `--destination-port' allowed");
                t.dport = parse_tcp_ports(arg);
                t.dport.invert = invert_;
                lm.seen |= 2;
            } else {
                if (lm.seen & 4) fail("Only one of `--syn' or `--tcp-flags'  allowed");
                if (o.id == 2) {
                    t.flg_mask = parse_tcp_flag("SYN,RST,ACK,FIN");
                    t.flg_cmp = parse_tcp_flag("SYN");
                } else {
                    if (pos_ >= argv_.size() || argv_[pos_].empty() || argv_[pos_][0] == '-' ||
                        argv_[pos_][0] == '!')
                        fail("--tcp-flags requires two args.");
                    t.flg_mask = parse_tcp_flag(arg);
                    t.flg_cmp = parse_tcp_flag(argv_[pos_++]);
                }
                t.inv_flags = invert_;
                lm.seen |= 4;
            }
            return;
        }
        case ExtKind::udp: {
            auto& u = std::get<UdpMatch>(m);
            check_x6("udp", lm.seen, o);
            PortRange& r = o.id == 0 ? u.sport : u.dport;
            r = parse_port_rc(arg, "udp", o.name);
            r.invert = invert_;
            return;
        }
        case ExtKind::icmp: {
            auto& ic = std::get<IcmpMatch>(m);
            check_x6("icmp", lm.seen, o);
            ic = parse_icmp_type(arg);
            ic.invert = invert_;
            return;
        }
        case ExtKind::statistic: {
            auto& st = std::get<StatisticMatch>(m);
            if (invert_) lm.statistic_invert = true;  // statistic_parse sets the flag first
            check_x6("statistic", lm.seen, o);
            unsigned long long v = 0;
            switch (o.id) {
                case 0:
                    if (arg == "random")
                        st.mode = StatisticMatch::Mode::random;
                    else if (arg == "nth")
                        st.mode = StatisticMatch::Mode::nth;
                    else
                        fail("Bad mode \"" + arg + "\"");
                    break;
                case 1: {
                    char* end = nullptr;
                    const double p = std::strtod(arg.c_str(), &end);
                    if (end == arg.c_str() || *end != '\0' || p < 0 || p > 1)
                        fail(
                            "statistic: bad value for option \"--probability\", or out of range "
                            "(0-1).");
                    st.probability = static_cast<std::uint32_t>(std::lround(0x80000000 * p));
                    break;
                }
                case 2:
                    if (!parse_uint(arg, 1, UINT32_MAX, v))
                        fail(
                            "statistic: bad value for option \"--every\", or out of range "
                            "(1-4294967295).");
                    st.every = static_cast<std::uint32_t>(v - 1);
                    break;
                case 3:
                    if (!parse_uint(arg, 0, UINT32_MAX, v))
                        fail(
                            "statistic: bad value for option \"--packet\", or out of range "
                            "(0-4294967295).");
                    st.packet = static_cast<std::uint32_t>(v);
                    break;
            }
            return;
        }
        case ExtKind::string: {
            auto& s = std::get<StringMatch>(m);
            check_x6("string", lm.seen, o);
            unsigned long long v = 0;
            switch (o.id) {
                case 0:
                case 1:
                    if (!parse_uint(arg, 0, 0xffff, v))
                        fail(std::string("string: bad value for option \"--") + o.name +
                             "\", or out of range (0-65535).");
                    (o.id == 0 ? s.from : s.to) = static_cast<std::uint16_t>(v);
                    break;
                case 2:
                    if (arg.size() > 15)
                        fail("Argument must have a maximum length of 15 characters");
                    s.algo = arg;
                    break;
                case 3:
                    s.icase = true;
                    break;
                case 4:
                    if (lm.seen & (1u << 5))
                        fail(
                            "string: option \"--string\" cannot be used together with "
                            "\"--hex-string\".");
                    if (arg.size() > TextSearch::kMaxPattern)
                        fail("STRING too long \"" + arg + "\"");
                    s.pattern = arg;
                    s.invert = invert_;
                    break;
                case 5:
                    if (lm.seen & (1u << 4))
                        fail(
                            "string: option \"--hex-string\" cannot be used together with "
                            "\"--string\".");
                    s.pattern = parse_hex_string(arg);
                    s.invert = invert_;
                    break;
            }
            return;
        }
        case ExtKind::reject:
        case ExtKind::log:
            return;
    }
}

void Parser::parse_target_option(const ExtOption& o, const std::string& arg) {
    if (*target_ext_ == ExtKind::reject) {
        check_x6("REJECT", target_seen_, o);
        target_.reject_with = parse_reject_with(arg);
        return;
    }
    check_x6("LOG", target_seen_, o);
    switch (o.id) {
        case 6:
            target_.log.level = parse_log_level(arg);
            break;
        case 7:
            if (arg.empty()) fail("Argument must have a minimum length of 1 characters");
            if (arg.size() > 29) fail("Argument must have a maximum length of 29 characters");
            if (arg.find('\n') != std::string::npos) fail("Newlines not allowed in --log-prefix");
            target_.log.prefix = arg;
            break;
        default:
            target_.log.flags |= static_cast<std::uint8_t>(1u << o.id);
            break;
    }
}

// command_default: the target's options first, then the loaded matches', then the protocol's
// match loaded on demand (-p tcp makes --dport mean the tcp match's).
bool Parser::dispatch_ext(const std::string& name, const std::optional<std::string>& inline_arg,
                          const std::string& token) {
    auto take_arg = [&](const ExtOption& o) -> std::string {
        if (!o.has_arg) return {};
        if (inline_arg) return *inline_arg;
        if (pos_ >= argv_.size()) fail("option \"" + token + "\" requires an argument");
        return argv_[pos_++];
    };
    if (target_ext_) {
        if (const ExtOption* o = find_ext_option(*target_ext_, name)) {
            parse_target_option(*o, take_arg(*o));
            return true;
        }
    }
    for (LoadedMatch& lm : loaded_) {
        if (lm.completed) continue;
        if (const ExtOption* o = find_ext_option(lm.kind, name)) {
            const std::string arg = take_arg(*o);
            parse_match_option(lm, *o, arg);
            return true;
        }
    }
    return false;
}

void Parser::ext_option(const std::string& name, const std::optional<std::string>& inline_arg,
                        const std::string& token) {
    if (dispatch_ext(name, inline_arg, token)) return;
    if (!protocol_.empty() && !proto_used_) {  // load_proto
        proto_used_ = true;
        if (const auto k = proto_match()) {
            load_match(*k);
            if (dispatch_ext(name, inline_arg, token)) return;
        }
    }
    fail("unknown option \"" + token + "\"");
}

void Parser::main_option(char code, const std::optional<std::string>& optarg,
                         const std::string& token) {
    auto need = [&]() -> const std::string& {
        if (!optarg) fail("option \"" + token + "\" requires an argument");
        return *optarg;
    };
    auto rulenumber = [](const std::string& s) -> unsigned {  // parse_rulenumber
        unsigned long long n = 0;
        if (!parse_uint(s, 1, INT_MAX, n)) fail("Invalid rule number `" + s + "'");
        return static_cast<unsigned>(n);
    };
    switch (code) {
        case 'A':
            add_command(CMD_APPEND, CMD_NONE);
            cmd_.chain = need();
            break;
        case 'C':
            add_command(CMD_CHECK, CMD_NONE);
            cmd_.chain = need();
            break;
        case 'D':
            add_command(CMD_DELETE, CMD_NONE);
            cmd_.chain = need();
            if (has_arg()) {  // parse_rule_range, without ranges
                const std::string& s = argv_[pos_++];
                if (s.find(':') != std::string::npos) fail("Rule ranges are not supported");
                char* end = nullptr;
                const long n = std::strtol(s.c_str(), &end, 10);
                if (*end != '\0' || n == 0) fail("Invalid rule number `" + s + "'");
                cmd_.rulenum = static_cast<unsigned>(n);
                command_ = CMD_DELETE_NUM;
            }
            break;
        case 'R':
            add_command(CMD_REPLACE, CMD_NONE);
            cmd_.chain = need();
            if (!has_arg()) fail("-R requires a rule number");
            cmd_.rulenum = rulenumber(argv_[pos_++]);
            break;
        case 'I':
            add_command(CMD_INSERT, CMD_NONE);
            cmd_.chain = need();
            cmd_.rulenum = has_arg() ? rulenumber(argv_[pos_++]) : 1;
            break;
        case 'L':
        case 'S':
            add_command(code == 'L' ? CMD_LIST : CMD_LIST_RULES, CMD_ZERO | CMD_ZERO_NUM);
            if (optarg)
                cmd_.chain = *optarg;
            else if (has_arg())
                cmd_.chain = argv_[pos_++];
            if (has_arg()) cmd_.rulenum = rulenumber(argv_[pos_++]);
            break;
        case 'F':
            add_command(CMD_FLUSH, CMD_NONE);
            if (optarg)
                cmd_.chain = *optarg;
            else if (has_arg())
                cmd_.chain = argv_[pos_++];
            break;
        case 'Z':
            add_command(CMD_ZERO, CMD_LIST | CMD_LIST_RULES);
            if (optarg)
                cmd_.chain = *optarg;
            else if (has_arg())
                cmd_.chain = argv_[pos_++];
            if (has_arg()) {
                cmd_.rulenum = rulenumber(argv_[pos_++]);
                command_ = CMD_ZERO_NUM;
            }
            break;
        case 'N':
            add_command(CMD_NEW_CHAIN, CMD_NONE);
            cmd_.chain = need();
            break;
        case 'X':
            add_command(CMD_DELETE_CHAIN, CMD_NONE);
            if (optarg)
                cmd_.chain = *optarg;
            else if (has_arg())
                cmd_.chain = argv_[pos_++];
            break;
        case 'E':
            add_command(CMD_RENAME_CHAIN, CMD_NONE);
            cmd_.chain = need();
            if (!has_arg()) fail("-E requires old-chain-name and new-chain-name");
            ++pos_;
            break;
        case 'P':
            add_command(CMD_SET_POLICY, CMD_NONE);
            if (!has_arg()) fail("-P requires a chain and a policy");
            cmd_.chain = need();
            cmd_.policy = argv_[pos_++];
            break;
        case 'V':  // iptables prints its version and exits at once
            cmd_.kind = CommandKind::version;
            version_ = true;
            break;
        case 'p': {
            set_option(OPT_PROTOCOL);
            protocol_ = need();
            for (char& c : protocol_)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            // xtables_parse_protocol
            unsigned long long n = 0;
            static constexpr std::pair<const char*, std::uint8_t> kProtos[] = {
                {"tcp", 6},       {"sctp", 132},
                {"udp", 17},      {"udplite", 136},
                {"icmp", 1},      {"ipv6-icmp", 58},
                {"icmpv6", 58},   {"esp", 50},
                {"ah", 51},       {"mobility-header", 135},
                {"ipv6-mh", 135}, {"mh", 135},
                {"dccp", 33},     {"ipcomp", 108},
                {"all", 0}};
            bool known = false;
            if (parse_uint(protocol_, 0, 255, n)) {
                ip_.proto = static_cast<std::uint8_t>(n);
                known = true;
            }
            for (const auto& [name, num] : kProtos) {
                if (!known && protocol_ == name) {
                    ip_.proto = num;
                    known = true;
                }
            }
            if (!known) {  // getprotobyname: /etc/protocols
                protoent pe{};
                protoent* found = nullptr;
                char buf[1024];
                if (getprotobyname_r(protocol_.c_str(), &pe, buf, sizeof buf, &found) == 0 &&
                    found) {
                    ip_.proto = static_cast<std::uint8_t>(found->p_proto);
                    known = true;
                }
            }
            if (!known) fail("unknown protocol \"" + protocol_ + "\" specified");
            if (ip_.proto == 0 && (ip_.invflags & kInvProto))
                fail("rule would never match protocol");
            break;
        }
        case 's':
            set_option(OPT_SOURCE);
            shost_ = need();
            break;
        case 'd':
            set_option(OPT_DESTINATION);
            dhost_ = need();
            break;
        case 'j': {
            set_option(OPT_JUMP);
            const std::string& name = need();
            // xt_parse_target
            if (name.empty()) fail("Invalid target name (too short)");
            if (name.size() >= 29) fail("Invalid target name `" + name + "' (28 chars max)");
            for (char c : name)
                if (std::isspace(static_cast<unsigned char>(c)))
                    fail("Invalid target name `" + name + "'");
            if (name == "CONTINUE") break;
            cmd_.jump = name;
            if (name == "ACCEPT") {
                target_.kind = Target::Kind::accept;
            } else if (name == "DROP") {
                target_.kind = Target::Kind::drop;
            } else if (name == "REJECT") {
                target_.kind = Target::Kind::reject;
                target_ext_ = ExtKind::reject;
            } else if (name == "LOG") {
                target_.kind = Target::Kind::log;
                target_ext_ = ExtKind::log;
            }
            break;
        }
        case 'i':
        case 'o': {
            const std::string& name = need();
            if (name.empty()) fail("Empty interface is likely to be undesired");
            set_option(code == 'i' ? OPT_VIANAMEIN : OPT_VIANAMEOUT);
            if (name.size() >= 16)
                fail("interface name `" + name + "' must be shorter than 16 characters");
            (code == 'i' ? ip_.iniface : ip_.outiface) = name;
            break;
        }
        case 'f':
            set_option(OPT_FRAGMENT);
            ip_.frag = true;
            break;
        case 'v':
            if (!verbose_) set_option(OPT_VERBOSE);
            ++verbose_;
            break;
        case 'n':
            set_option(OPT_NUMERIC);
            break;
        case 'x':
            set_option(OPT_EXPANDED);
            break;
        case '0':
            set_option(OPT_LINENUMBERS);
            break;
        case 'm': {
            if (invert_) fail("unexpected ! flag before --match");
            const std::string& name = need();
            const auto k = match_by_name(name);
            if (!k) fail("Couldn't load match `" + name + "':No such file or directory");
            load_match(*k);
            break;
        }
        case 't':
            if (invert_) fail("unexpected ! flag before --table");
            cmd_.table = need();
            break;
        case 'w':  // the xtables lock: vlo's rule changes never wait, a number is accepted
            if (!optarg && has_arg()) {
                unsigned long long secs = 0;
                if (!parse_uint(argv_[pos_], 0, UINT_MAX, secs)) fail("wait seconds not numeric");
                ++pos_;
            }
            break;
        default:
            fail("unknown option \"" + token + "\"");
    }
}

// The extensions' final checks (x6_fcheck, then xtables_options_fcheck), in load order.
void Parser::final_checks() {
    for (LoadedMatch& lm : loaded_) {
        Match& m = matches_[lm.index];
        switch (lm.kind) {
            case ExtKind::icmp:
                if (!(lm.seen & 1)) fail("icmp: option \"--icmp-type\" must be specified");
                break;
            case ExtKind::statistic: {
                auto& st = std::get<StatisticMatch>(m);
                st.invert = lm.statistic_invert;
                if (st.mode == StatisticMatch::Mode::random && !(lm.seen & (1u << 1)))
                    fail("--probability must be specified when using random mode");
                if (st.mode == StatisticMatch::Mode::nth && !(lm.seen & ((1u << 2) | (1u << 3))))
                    fail("--every and --packet must be specified when using nth mode");
                if (st.packet > st.every) fail("the --packet p must be 0 <= p <= n-1");
                if (!(lm.seen & 1)) fail("statistic: option \"--mode\" must be specified");
                const bool prob = lm.seen & (1u << 1), every = lm.seen & (1u << 2),
                           packet = lm.seen & (1u << 3);
                if (prob && every)
                    fail(
                        "statistic: option \"--probability\" cannot be used together with "
                        "\"--every\".");
                if (prob && packet)
                    fail(
                        "statistic: option \"--probability\" cannot be used together with "
                        "\"--packet\".");
                if (every && !packet)
                    fail("statistic: option \"--every\" also requires \"--packet\".");
                if (packet && !every)
                    fail("statistic: option \"--packet\" also requires \"--every\".");
                st.count = std::make_shared<std::atomic<std::uint32_t>>(st.every - st.packet);
                break;
            }
            case ExtKind::string: {
                if (!(lm.seen & ((1u << 4) | (1u << 5))))
                    fail("STRING match: You must specify `--string' or `--hex-string'");
                if (!(lm.seen & (1u << 2))) fail("string: option \"--algo\" must be specified");
                // textsearch_prepare: an algorithm other than bm and kmp is refused with the
                // rule (Netfilter::check_entry), so the search built here is never used then.
                auto& s = std::get<StringMatch>(m);
                const auto* bytes = reinterpret_cast<const std::uint8_t*>(s.pattern.data());
                s.search =
                    TextSearch(s.algo == "kmp" ? TextSearch::Algo::kmp : TextSearch::Algo::bm,
                               {bytes, s.pattern.size()}, s.icase);
                break;
            }
            default:
                break;
        }
    }
}

// xtables_ipparse_multiple: "a[/mask][,b[/mask]...]", each address masked.
std::vector<std::pair<Ipv4Address, Ipv4Address>> Parser::parse_addresses(const std::string& spec) {
    std::vector<std::pair<Ipv4Address, Ipv4Address>> out;
    std::size_t start = 0;
    for (;;) {
        const auto comma = spec.find(',', start);
        const std::string item =
            spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto slash = item.find('/');
        const std::string host = item.substr(0, slash);
        Ipv4Address mask{0xffffffffu};
        if (slash != std::string::npos) {
            const std::string m = item.substr(slash + 1);
            unsigned long long bits = 0;
            if (const auto dotted = numeric_to_ipaddr(m, true))
                mask = *dotted;
            else if (parse_uint(m, 0, 32, bits))
                mask = Ipv4Address{prefix_mask(static_cast<int>(bits))};
            else
                fail("invalid mask `" + m + "' specified");
        }
        const auto addr = numeric_to_ipaddr(host, false);  // no name lookups: nothing leaves lo
        if (!addr) fail("host/network `" + host + "' not found");
        out.emplace_back(Ipv4Address{addr->value & mask.value}, mask);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

Command Parser::run() {
    while (pos_ < argv_.size()) {
        const std::string token = argv_[pos_++];
        if (token == "!") {
            if (invert_) fail("multiple consecutive ! not allowed");
            invert_ = true;
            continue;
        }
        if (token.size() > 2 && token[0] == '-' && token[1] == '-') {
            std::string name = token.substr(2);
            std::optional<std::string> inline_arg;
            if (const auto eq = name.find('='); eq != std::string::npos) {
                inline_arg = name.substr(eq + 1);
                name.resize(eq);
            }
            if (const MainOption* o = find_long(name)) {
                std::optional<std::string> arg = inline_arg;
                if (o->arg == ArgKind::required && !arg) {
                    if (pos_ >= argv_.size()) fail("option \"" + token + "\" requires an argument");
                    arg = argv_[pos_++];
                }
                if (o->arg == ArgKind::none && arg)
                    fail("option \"" + token + "\" doesn't allow an argument");
                main_option(o->code, arg, token);
                if (version_) return cmd_;
            } else {
                ext_option(name, inline_arg, token);
            }
        } else if (token.size() > 1 && token[0] == '-') {
            for (std::size_t k = 1; k < token.size(); ++k) {
                const MainOption* o = find_short(token[k]);
                if (!o) fail(std::string("unknown option \"-") + token[k] + "\"");
                std::optional<std::string> arg;
                if (o->arg != ArgKind::none && k + 1 < token.size()) {
                    arg = token.substr(k + 1);
                    k = token.size();
                } else if (o->arg == ArgKind::required) {
                    if (pos_ >= argv_.size()) fail("option \"" + token + "\" requires an argument");
                    arg = argv_[pos_++];
                }
                main_option(o->code, arg, token);
                if (version_) return cmd_;
                if (k + 1 < token.size()) invert_ = false;
            }
        } else {
            fail("Bad argument `" + token + "'");
        }
        invert_ = false;
    }

    final_checks();
    if (command_ == CMD_NONE) fail("no command specified");
    if (invert_) fail("nothing appropriate following !");

    // ipv4_post_parse: every rule command has addresses, 0.0.0.0/0 unless given.
    constexpr unsigned kRuleCmds = CMD_REPLACE | CMD_INSERT | CMD_DELETE | CMD_APPEND | CMD_CHECK;
    if (command_ & kRuleCmds) {
        if (!(options_ & OPT_DESTINATION)) dhost_ = "0.0.0.0/0";
        if (!(options_ & OPT_SOURCE)) shost_ = "0.0.0.0/0";
    }
    std::vector<std::pair<Ipv4Address, Ipv4Address>> srcs, dsts;
    if (!shost_.empty()) srcs = parse_addresses(shost_);
    if (!dhost_.empty()) dsts = parse_addresses(dhost_);
    if ((srcs.size() > 1 || dsts.size() > 1) && (ip_.invflags & (kInvSrcIp | kInvDstIp)))
        fail("! not allowed with multiple source or destination IP addresses");

    // generic_opt_check
    for (unsigned i = 0; i < kOptCount; ++i) {
        const unsigned opt = 1u << i;
        if ((options_ & opt) && (option_commands(opt) & command_) != command_)
            fail(std::string("Illegal option `") + option_name(opt) + "' with this command");
    }
    if (cmd_.chain.size() >= 29)
        fail("chain name `" + cmd_.chain + "' too long (must be under 29 chars)");
    if (command_ & kRuleCmds) {
        if ((cmd_.chain == "PREROUTING" || cmd_.chain == "INPUT") && (options_ & OPT_VIANAMEOUT))
            fail("Can't use --out-interface with " + cmd_.chain);
        if ((cmd_.chain == "POSTROUTING" || cmd_.chain == "OUTPUT") && (options_ & OPT_VIANAMEIN))
            fail("Can't use --in-interface with " + cmd_.chain);
    }

    switch (command_ & ~CMD_ZERO) {
        case CMD_APPEND:
            cmd_.kind = CommandKind::append;
            break;
        case CMD_INSERT:
            cmd_.kind = CommandKind::insert;
            break;
        case CMD_DELETE:
            cmd_.kind = CommandKind::delete_rule;
            break;
        case CMD_DELETE_NUM:
            cmd_.kind = CommandKind::delete_num;
            break;
        case CMD_REPLACE:
            cmd_.kind = CommandKind::replace;
            break;
        case CMD_CHECK:
            cmd_.kind = CommandKind::check;
            break;
        case CMD_LIST:
            cmd_.kind = CommandKind::list;
            break;
        case CMD_LIST_RULES:
            cmd_.kind = CommandKind::list_rules;
            break;
        case CMD_FLUSH:
            cmd_.kind = CommandKind::flush;
            break;
        case CMD_SET_POLICY:
            cmd_.kind = CommandKind::policy;
            break;
        case CMD_NEW_CHAIN:
            cmd_.kind = CommandKind::new_chain;
            break;
        case CMD_DELETE_CHAIN:
            cmd_.kind = CommandKind::delete_chain;
            break;
        case CMD_RENAME_CHAIN:
            cmd_.kind = CommandKind::rename_chain;
            break;
        case CMD_ZERO_NUM:
            cmd_.kind = CommandKind::zero;
            break;
        case CMD_NONE:
            cmd_.kind = CommandKind::zero;
            break;  // -Z alone
        default:
            break;
    }
    cmd_.zero_after_list = (command_ & CMD_ZERO) && (command_ & (CMD_LIST | CMD_LIST_RULES));

    cmd_.format.numeric = options_ & OPT_NUMERIC;
    cmd_.format.verbose = options_ & OPT_VERBOSE;
    cmd_.format.exact = options_ & OPT_EXPANDED;
    cmd_.format.line_numbers = options_ & OPT_LINENUMBERS;

    if (command_ & kRuleCmds) {
        for (const auto& [s, smsk] : srcs) {
            for (const auto& [d, dmsk] : dsts) {
                auto rule = std::make_shared<Rule>();
                rule->ip = ip_;
                rule->ip.src = s;
                rule->ip.smsk = smsk;
                rule->ip.dst = d;
                rule->ip.dmsk = dmsk;
                for (const Match& m : matches_) {
                    if (const auto* st = std::get_if<StatisticMatch>(&m)) {
                        // Each rule gets its own nth counter.
                        StatisticMatch copy = *st;
                        copy.count =
                            std::make_shared<std::atomic<std::uint32_t>>(st->count->load());
                        rule->matches.emplace_back(std::move(copy));
                    } else {
                        rule->matches.push_back(m);
                    }
                }
                rule->target = target_;
                cmd_.rules.push_back(std::move(rule));
            }
        }
    }
    return cmd_;
}

}  // namespace

std::optional<Command> parse_command(std::vector<std::string> words, std::string& error) {
    try {
        Parser parser(std::move(words));
        return parser.run();
    } catch (const ParseError& f) {
        error = parameter_problem(f.message);
        return std::nullopt;
    }
}

std::optional<Command> parse_command(std::string_view line, std::string& error) {
    std::vector<std::string> words;
    try {
        words = split_words(line);  // an open quote fails as the shell does
    } catch (const ParseError& f) {
        error = parameter_problem(f.message);
        return std::nullopt;
    }
    return parse_command(std::move(words), error);
}

}  // namespace vlo::nf
