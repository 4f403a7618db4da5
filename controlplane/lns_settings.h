// The control plane's own sections of the gateway's configuration file:
//
//   l2tp = { host_name = "l2tpgw"; secret = "...";      # tunnel auth + hidden AVPs
//            plain_from = [ "10.251.0.0/24" ];          # LACs trusted without IPsec
//            hello_interval = 60; retransmits = 5;      # seconds; §5.8 tries
//            max_tunnels = 16384; max_tunnels_per_peer = 64;
//            max_sessions = 262144; max_sessions_per_tunnel = 65535; };
//   ppp  = { auth = [ "mschapv2", "chap", "pap" ];      # offered in this order
//            server_name = "l2tpgw"; mru = 1500;
//            echo_interval = 20; echo_failures = 3;     # seconds; 0 turns echo off
//            local_address = "100.64.0.1";
//            pool = "100.64.0.10-100.64.3.254";
//            dns = [ "10.0.0.53", "10.0.0.54" ]; nbns = [ ];
//            mppe = "allow"; mppe_bits = [ 40, 56, 128 ]; mppe_stateless = true;
//            users = "users.conf"; };                   # relative to this file
//
// The data plane ignores both; load_config accepts them so that one file
// serves both processes. Errors name the file and line like load_config's.
#pragma once

#include <cstdint>
#include <string>

#include "controlplane/l2tp/lns_config.h"
#include "controlplane/ppp/settings.h"

namespace l2tpgw::cp {

struct LnsSettings {
  l2tp::LnsConfig l2tp;
  ppp::PppSettings ppp;
  std::uint32_t pool_first = 0;  // host order, inclusive; an empty pool when last < first
  std::uint32_t pool_last = 0;
  std::string users_file;        // absolute, or empty: nobody can authenticate
  bool enabled = false;          // the file has an l2tp section
};

// Throws ConfigError.
LnsSettings load_lns_settings(const std::string& path);

}  // namespace l2tpgw::cp
