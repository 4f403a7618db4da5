// `inject`: packets from a pcap file sent out of a port through the tx ring,
// optionally protected by an outbound SA. The operator's way to put exact
// packets on the wire (a probe, a replayed capture) without a client.
//
//   inject --pcap FILE [--port NAME] [--sa SPI PEER]
//
// The control plane reads FILE itself (l2tpgwctl passes an absolute path):
// both run as root on the gateway and the socket is the operator's only.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>

#include "controlplane/ctl_commands.h"
#include "controlplane/dp_channel.h"
#include "controlplane/log.h"

namespace l2tpgw::cp {

struct InjectRequest {
  std::string pcap;
  std::optional<std::string> port;  // a port's name; the outside port when absent
  std::optional<SaRef> via_sa;
};

struct InjectParse {
  std::optional<InjectRequest> request;
  std::string error;  // when no request
};

// The words after "inject".
InjectParse parse_inject(std::span<const std::string> words);

// Largest pcap file read: far above any probe or capture an operator replays
// through the control plane, small enough to hold in memory at once.
inline constexpr std::size_t max_inject_file = 64u << 20;

// Reads the file and queues its packets; waits while the tx ring is full as
// long as the data plane keeps draining it, giving up after `stall` without
// progress.
CtlReply run_inject(DpChannel& dp, const InjectRequest& r, std::chrono::milliseconds stall,
                    Logger& log);

}  // namespace l2tpgw::cp
