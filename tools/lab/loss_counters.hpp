// tcp_bulk_lossy's recovery counters: TCP's TcpExt counters read by name from the stack's
// netstat text (so the lab builds against a TCP that does not keep some of them yet, and says
// so with nullopt rather than 0), and what netem's loss took.
#pragma once

#include "stack/stack.hpp"
#include "tools/lab/cell.hpp"

namespace vlo::lab {

struct LossCounters {
    LossFigures figures;  // absolute counts at read()

    static LossCounters read(Stack& stack);
    // What happened between `before` and this reading; nullopt where either lacks the counter.
    LossFigures operator-(const LossCounters& before) const;
};

}  // namespace vlo::lab
