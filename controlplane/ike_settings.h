// The `ike` section of the gateway's configuration file, read by the
// control plane (the data plane accepts and ignores it):
//
//   ike = {
//     psk = "shared by every peer without its own";       # the default key
//     peers = ( { address = "198.51.100.7"; psk = "..."; },  # by source address
//               { id = "laptop.example.org"; psk = "..."; } );  # by IDii (FQDN,
//                                                    # user FQDN or IPv4 address)
//     local_id = "192.0.2.1";        # our IDir: an IPv4 address or an FQDN;
//                                    # default: the outside port's address
//     allow_md5 = false; allow_modp1024 = true; allow_tunnel = false;
//     ike_lifetime = 28800;          # ISAKMP SA, seconds (the peer's if shorter)
//     sa_lifetime = 3600;            # IPsec SA, seconds: longer offers are cut
//     sa_lifetime_kb = 0;            # IPsec SA, kilobytes; 0 = none
//     max_half_open = 1024;          # Main Mode exchanges not yet authenticated
//     max_half_open_per_peer = 8;    # ... from one source address
//     max_ike_sas_per_peer = 16;
//     retransmit_interval = 2; retransmits = 5;  # seconds; tries of our last reply
//     dpd_interval = 30;             # seconds of silence before R-U-THERE; 0 = off
//     dpd_failures = 5;              # unanswered R-U-THEREs before the peer is dead
//     nat_keepalive = 20;            # seconds between NAT-T keepalives (RFC 3948 §2.3); 0 = off
//   };
//
// Errors name the file and line like load_config's. Keys are never
// echoed in errors or logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/ike/secret.h"

namespace l2tpgw::cp {

struct IkePeerKey {
  std::optional<std::uint32_t> address;  // host order
  std::string id;                        // the IDii text: FQDN, user FQDN or dotted quad
  ike::SecretBytes psk;
};

struct IkeSettings {
  bool enabled = false;  // the file has an ike section
  std::optional<ike::SecretBytes> default_psk;
  std::vector<IkePeerKey> peers;
  std::string local_id;  // empty: the outside address
  bool allow_md5 = false;
  bool allow_modp1024 = true;
  bool allow_tunnel = false;
  std::uint32_t ike_lifetime_s = 28800;
  std::uint32_t sa_lifetime_s = 3600;
  std::uint32_t sa_lifetime_kb = 0;
  std::uint32_t max_half_open = 1024;
  std::uint32_t max_half_open_per_peer = 8;
  std::uint32_t max_ike_sas_per_peer = 16;
  std::chrono::milliseconds retransmit_interval{2000};
  std::uint32_t retransmits = 5;
  std::chrono::milliseconds dpd_interval{30000};
  std::uint32_t dpd_failures = 5;
  std::chrono::milliseconds nat_keepalive{20000};

  // The key for a source address: its own, else the default.
  std::optional<ike::SecretBytes> psk_for_address(std::uint32_t addr) const;
  // Keys bound to peer IDs, tried when the address has no key of its own.
  std::vector<const IkePeerKey*> id_keys() const;
};

// Throws ConfigError.
IkeSettings load_ike_settings(const std::string& path);

}  // namespace l2tpgw::cp
