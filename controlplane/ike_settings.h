// The `ike` section of the gateway's configuration file, read by the
// control plane (the data plane accepts and ignores it):
//
//   ike = {
//     psk = "shared by every peer without its own";       # the default key
//     peers = ( { address = "198.51.100.7"; psk = "..."; },  # by source address
//               { id = "laptop.example.org"; psk = "..."; },  # by IDii (FQDN,
//                                                    # user FQDN or IPv4 address)
//               { address = "198.51.100.9"; auth = "rsa"; id = "C=CH, O=test, CN=client"; },
//               { id = "C=CH, O=test, CN=laptop"; auth = "rsa"; },
//               { id = "phone.example.org"; psk = "..."; aggressive = true; },
//               { id = "C=CH, O=test, CN=tablet"; auth = "rsa"; aggressive = true; } );
//                                    # aggressive: this peer may use IKEv1
//                                    # Aggressive Mode (default false)
//     ca = "ca.pem";                 # RSA signatures: trusted CAs (PEM bundle),
//     certificate = "gw.pem";        # our certificate (+ intermediates), PEM
//     private_key = "gw.key";        # its RSA key, PEM, unencrypted
//     crl = "ca.crl";                # optional: PEM CRLs, checked when given
//     local_id = "192.0.2.1";        # our IDir: an IPv4 address or an FQDN;
//                                    # default: the outside port's address
//     allow_md5 = false; allow_modp1024 = true; allow_tunnel = false;
//     tunnel_networks = [ "10.9.0.0/24" ];  # inside networks tunnel-mode
//                                    # peers may reach; required by allow_tunnel
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
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/ike/algorithms.h"
#include "controlplane/ike/secret.h"
#include "controlplane/ike/x509.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {

// One `peers` entry. A psk peer names exactly one of address or id and
// carries a key; an rsa peer names an address, an id or both and no key.
struct IkePeerKey {
  std::optional<std::uint32_t> address;  // host order
  std::string id;                        // the IDii text: FQDN, user FQDN, dotted quad or DN
  ike::SecretBytes psk;
  ike::AuthMethod auth = ike::AuthMethod::psk;
  ike::Bytes id_dn;  // DER when `id` is a distinguished name (rsa only)
  // May use Aggressive Mode (RFC 2409 §5.4) with its method. With a psk,
  // message 2 carries HASH_R in the clear: whoever sees it can guess the
  // key offline. With rsa only the identities travel in the clear.
  bool aggressive = false;

  // Whether an authenticated ID payload is this peer's `id`.
  bool matches(const ike::Identification& id) const;
};

struct IkeSettings {
  bool enabled = false;  // the file has an ike section
  std::optional<ike::SecretBytes> default_psk;
  std::vector<IkePeerKey> peers;
  std::string local_id;  // empty: the outside address
  bool allow_md5 = false;
  bool allow_modp1024 = true;
  bool allow_tunnel = false;
  // The inside networks a tunnel-mode SA's IDcr may lie in (docs/IKE.md,
  // "Tunnel mode"); never empty when allow_tunnel.
  std::vector<Ipv4Prefix> tunnel_networks;
  // ICV bits of ESP HMAC-SHA2-256 (IKEv1 cannot negotiate them): 128 as
  // RFC 4868 says, or 96 for the clients that followed the earlier draft.
  std::uint8_t esp_sha256_icv_bits = 128;
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
  // Largest IKE datagram (IP header included) we send whole to a peer that
  // announced IKE fragmentation; strongSwan's default.
  std::uint32_t fragment_size = 1280;
  // After a rekey we started: the old pair is deleted this long after the
  // new one is in (what it carries moves over at a quarter of it).
  std::chrono::milliseconds rekey_overlap{4000};
  // RSA signatures: all three or none; the paths as resolved (relative ones
  // against the configuration file's directory).
  std::string ca_path, certificate_path, private_key_path, crl_path;
  std::shared_ptr<const ike::TrustStore> trust;
  std::shared_ptr<const ike::LocalCredential> credential;

  bool certificates() const noexcept { return trust && credential; }

  // The key for a source address: its own, else the default.
  std::optional<ike::SecretBytes> psk_for_address(std::uint32_t addr) const;
  // Keys bound to peer IDs, tried when the address has no key of its own.
  std::vector<const IkePeerKey*> id_keys() const;
  // The methods a source may negotiate in message 1: its own entry's, else
  // psk when any key could apply and rsa when certificates are configured.
  bool psk_possible() const;
  const IkePeerKey* peer_at(std::uint32_t addr) const;
  // The peer entry that lets a source offering this IDii use Aggressive
  // Mode with the entry's method (its ID's entry, else its address's), or
  // null. An rsa entry's address and id must both fit when it names both.
  const IkePeerKey* aggressive_peer(std::uint32_t addr, const ike::Identification& id) const;
  // Empty when a peer proven to hold `id` may use `method` from `addr`,
  // else why not (see docs/IKE.md, "Certificates").
  std::string authorize(std::uint32_t addr, const ike::Identification& id,
                        ike::AuthMethod method) const;
};

// Throws ConfigError.
IkeSettings load_ike_settings(const std::string& path);

}  // namespace l2tpgw::cp
