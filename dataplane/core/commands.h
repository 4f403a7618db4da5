// The data plane's main thread side of the channel: applies the control
// plane's SA commands to the tables (it is their only writer) and answers
// each with an ack on the event ring.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// Applies up to a batch of commands; returns how many were taken.
unsigned apply_commands(Runtime& rt);

}  // namespace l2tpgw
