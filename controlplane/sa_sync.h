// Reconciles the data plane's SA table with the static SAs of the
// configuration. SAs already installed with the same parameters are left
// alone: a control-plane restart must not reset their sequence numbers and
// replay windows.
#pragma once

#include <chrono>
#include <span>
#include <vector>

#include "controlplane/dp_channel.h"
#include "controlplane/log.h"
#include "controlplane/static_sync.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {

// The SAs the data plane reports in its directory (keys are not exported).
std::vector<channel::SaParams> read_sa_directory(const channel::Segment& seg);

// What identifies an installed SA to the comparison: the keys are not in the
// directory, so a key change alone is not seen.
bool same_sa(const channel::SaParams& a, const channel::SaParams& b);
bool same_triple(const channel::SaParams& a, const channel::SaParams& b);

// `kept`: negotiated SAs restored by a restarted control plane, left alone.
SyncStats sync_static_sas(DpChannel& ch, std::span<const SaConfig> sas, Logger& log,
                          std::chrono::milliseconds ack_timeout,
                          std::span<const channel::SaParams> kept = {});

}  // namespace l2tpgw::cp
