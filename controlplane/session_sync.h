// Reconciles the data plane's session table with the static sessions of the
// configuration, after the static SAs they ride on. Sessions already
// installed with the same parameters are left alone, so that a control-plane
// restart keeps their counters and does not disturb their traffic.
#pragma once

#include <chrono>
#include <span>
#include <vector>

#include "controlplane/dp_channel.h"
#include "controlplane/log.h"
#include "controlplane/sa_sync.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {

// The sessions the data plane reports in its directory.
std::vector<channel::SessionParams> read_session_directory(const channel::Segment& seg);

// A session is identified by our (local) tunnel and session ids.
bool same_session_ids(const channel::SessionParams& a, const channel::SessionParams& b);
// Every field the data plane carries (not the reserved bytes). The MPPE
// start keys are compared when both sides hold them; the data plane's
// directory does not export them, so from it a key change alone is not seen
// (as for SAs), while MPPE strength and mode are.
bool same_session(const channel::SessionParams& a, const channel::SessionParams& b);

// `kept`: negotiated sessions restored by a restarted control plane, left alone.
SyncStats sync_static_sessions(DpChannel& ch, std::span<const SessionConfig> sessions, Logger& log,
                               std::chrono::milliseconds ack_timeout,
                               std::span<const channel::SessionParams> kept = {});

}  // namespace l2tpgw::cp
