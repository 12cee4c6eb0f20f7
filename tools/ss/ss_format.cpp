#include "tools/ss/ss_format.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

namespace vlo::ss {

namespace {

// ss.c's columns[] of iproute2 6.1, Netid left out (ss -t lists one protocol). In 6.1 the table
// names the column after Peer's Port "Process" while the enum puts COL_EXT there, so the info
// text lands under "Process" and the last column (COL_PROC, no -p) stays empty.
enum Col { kState, kRecvQ, kSendQ, kAddr, kServ, kRaddr, kRserv, kExt, kProc, kCols };
struct Column {
    bool right;  // ALIGN_RIGHT, else ALIGN_LEFT
    const char* header;
    const char* ldelim;
};
constexpr std::array<Column, kCols> kColumns{{
    {false, "State", " "},
    {false, "Recv-Q", " "},
    {false, "Send-Q", " "},
    {true, "Local Address:", " "},
    {false, "Port", ""},
    {true, "Peer Address:", " "},
    {false, "Port", ""},
    {false, "Process", ""},
    {false, "", ""},
}};

struct Token {
    int col;
    std::string text;
};

// render() with no terminal (render_calc_width's compact output): each column as wide as its
// widest token plus its delimiter, the first one without. The token still being written when
// render() runs (the last socket's info) was never flushed, so it does not count
// (field_flush is what updates max_len).
std::string render(const std::vector<Token>& tokens) {
    std::array<std::size_t, kCols> max_len{}, width{};
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i)
        max_len[tokens[i].col] = std::max(max_len[tokens[i].col], tokens[i].text.size());
    bool first = true;
    for (int c = 0; c < kCols; ++c) {
        width[c] =
            max_len[c] + (!first && max_len[c] ? std::string_view(kColumns[c].ldelim).size() : 0);
        if (width[c]) first = false;
    }
    std::string s;
    bool line_started = false;
    for (const Token& t : tokens) {
        const Column& c = kColumns[t.col];
        const std::size_t w = width[t.col];
        std::size_t printed = 0;
        if (line_started) {
            s += c.ldelim;
            printed = std::string_view(c.ldelim).size();
        }
        line_started = true;
        if (c.right && w > t.text.size() + printed) {  // print_left_spacing
            s.append(w - t.text.size() - printed, ' ');
            printed = w - t.text.size();
        }
        s += t.text;
        printed += t.text.size();
        if (!c.right && w > printed) s.append(w - printed, ' ');  // print_right_spacing
        if (t.col == kCols - 1) {
            s += '\n';
            line_started = false;
        }
    }
    if (line_started) s += '\n';
    return s;
}

}  // namespace

std::string_view ss_state_name(TcpState s) {
    switch (s) {
        case TcpState::established:
            return "ESTAB";
        case TcpState::syn_sent:
            return "SYN-SENT";
        case TcpState::syn_recv:
            return "SYN-RECV";
        case TcpState::fin_wait1:
            return "FIN-WAIT-1";
        case TcpState::fin_wait2:
            return "FIN-WAIT-2";
        case TcpState::time_wait:
            return "TIME-WAIT";
        case TcpState::close:
            return "UNCONN";
        case TcpState::close_wait:
            return "CLOSE-WAIT";
        case TcpState::last_ack:
            return "LAST-ACK";
        case TcpState::listen:
            return "LISTEN";
        case TcpState::closing:
            return "CLOSING";
    }
    return "UNKNOWN";
}

bool ss_listed(TcpState s, bool all) {
    return all || (s != TcpState::listen && s != TcpState::close && s != TcpState::time_wait &&
                   s != TcpState::syn_recv);
}

// print_header, then per socket sock_state_print ("%-6d" queues), inet_addr_print twice
// ("ADDR:" and the port, 0 as "*") and, for -i, "\n\t" and the info text.
std::string ss_listing(std::span<const SsSocket> sockets) {
    std::vector<Token> tokens;
    for (int c = 0; c < kProc; ++c) tokens.push_back({c, kColumns[c].header});
    auto port = [](std::uint16_t p) { return p ? std::to_string(p) : std::string("*"); };
    for (const SsSocket& sk : sockets) {
        tokens.push_back({kProc, ""});  // the previous line's last column, flushed empty
        char q[32];
        tokens.push_back({kState, std::string(ss_state_name(sk.state))});
        std::snprintf(q, sizeof q, "%-6d", static_cast<int>(sk.recv_q));
        tokens.push_back({kRecvQ, q});
        std::snprintf(q, sizeof q, "%-6d", static_cast<int>(sk.send_q));
        tokens.push_back({kSendQ, q});
        tokens.push_back({kAddr, sk.laddr.to_string() + ":"});
        tokens.push_back({kServ, port(sk.lport)});
        tokens.push_back({kRaddr, sk.raddr.to_string() + ":"});
        tokens.push_back({kRserv, port(sk.rport)});
        tokens.push_back({kExt, "\n\t" + sk.info.value_or("")});
    }
    if (sockets.empty()) tokens.push_back({kProc, ""});
    return render(tokens);
}

}  // namespace vlo::ss
