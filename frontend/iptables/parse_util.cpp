#include "frontend/iptables/parse_util.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace vlo::nf {

bool parse_uint(const std::string& s, unsigned long long min, unsigned long long max,
                unsigned long long& out) {
    if (s.empty() || s[0] == '-' || std::isspace(static_cast<unsigned char>(s[0]))) return false;
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
    if (errno != 0 || end == s.c_str() || *end != '\0' || v < min || v > max) return false;
    out = v;
    return true;
}

std::optional<Ipv4Address> numeric_to_ipaddr(const std::string& dotted, bool is_mask) {
    std::uint32_t value = 0;
    std::size_t start = 0;
    for (int i = 0; i < 4; ++i) {
        const auto dot = i < 3 ? dotted.find('.', start) : std::string::npos;
        if (dot == std::string::npos && i < 3 && is_mask) return std::nullopt;
        unsigned long long byte = 0;
        if (!parse_uint(
                dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start), 0,
                255, byte))
            return std::nullopt;
        value |= static_cast<std::uint32_t>(byte) << (24 - 8 * i);
        if (dot == std::string::npos) return Ipv4Address{value};  // the rest stays zero
        start = dot + 1;
    }
    return Ipv4Address{value};
}

int service_port(const std::string& name, const char* proto) {
    servent se{};
    servent* found = nullptr;
    char buf[1024];
    if (getservbyname_r(name.c_str(), proto, &se, buf, sizeof buf, &found) == 0 && found)
        return ntohs(static_cast<std::uint16_t>(found->s_port));
    return -1;
}

std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::string cur;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else
                cur += c;
            continue;
        }
        if (quote == '"') {
            if (c == '"') {
                quote = 0;
            } else if (c == '\\' && i + 1 < line.size() && std::strchr("\"\\$`", line[i + 1])) {
                cur += line[++i];
            } else {
                cur += c;
            }
            continue;
        }
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (in_word) words.push_back(std::move(cur));
            cur.clear();
            in_word = false;
            continue;
        }
        in_word = true;
        if (c == '\'' || c == '"')
            quote = c;
        else if (c == '\\' && i + 1 < line.size())
            cur += line[++i];
        else
            cur += c;
    }
    if (quote) fail(std::string("unexpected EOF while looking for matching `") + quote + "'");
    if (in_word) words.push_back(std::move(cur));
    return words;
}

}  // namespace vlo::nf
