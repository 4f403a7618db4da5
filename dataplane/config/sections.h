// The section readers of load_config, one file each.
#pragma once

#include "dataplane/config/config.h"
#include "dataplane/config/settings.h"

namespace l2tpgw::config_detail {

DataplaneConfig read_dataplane(const Reader& r, const Setting& s);
ControlplaneConfig read_controlplane(const Reader& r, const Setting& s);
// A replay window: a multiple of 64 in 64..4096.
std::uint32_t read_replay_window_setting(const Reader& r, const Setting& s);
std::vector<PortConfig> read_ports(const Reader& r, const Setting& list);
std::vector<SaConfig> read_sas(const Reader& r, const Setting& list, const Config& cfg);
// After the ports and the SAs, which sessions refer to.
std::vector<SessionConfig> read_sessions(const Reader& r, const Setting& list, const Config& cfg);

}  // namespace l2tpgw::config_detail
