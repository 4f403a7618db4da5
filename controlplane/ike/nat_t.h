// NAT traversal for IKEv1 (RFC 3947 and the drafts older clients speak):
// the NAT-D hashes, which side is behind a NAT, and the vendor IDs that
// announce NAT-T, DPD (RFC 3706), IKE fragmentation and Microsoft clients.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "controlplane/ike/algorithms.h"
#include "controlplane/ike/isakmp.h"
#include "controlplane/ike/proposal.h"
#include "controlplane/ike/secret.h"

namespace l2tpgw::ike {

// An address as NAT-D hashes it: 4 bytes (IPv4) or 16 (IPv6), network order.
struct Endpoint {
  std::span<const std::uint8_t> address;
  std::uint16_t port = 0;
};

// RFC 3947 §3.2: HASH = hash(CKY-I | CKY-R | IP | Port), with the
// negotiated hash (not the PRF).
SecretBytes natd_hash(Hash h, const Cookie& cky_i, const Cookie& cky_r, Endpoint e);

struct NatDetection {
  bool local_behind_nat = false;  // our address/port was rewritten
  bool peer_behind_nat = false;   // the peer's was
  bool any() const noexcept { return local_behind_nat || peer_behind_nat; }
};

// For the responder, from the initiator's NAT-D payloads (RFC 3947 §3.2:
// the first hashes the destination as the initiator saw it, the others the
// initiator's own addresses). `local` is where the datagram arrived, `peer`
// where it came from.
NatDetection detect_nat(Hash h, const Cookie& cky_i, const Cookie& cky_r,
                        std::span<const ByteView> received, Endpoint local, Endpoint peer);

// The responder's NAT-D payload bodies, in order: the peer as we see it
// (the destination of our reply), then ourselves.
std::vector<SecretBytes> responder_natd(Hash h, const Cookie& cky_i, const Cookie& cky_r,
                                        Endpoint local, Endpoint peer);

// ---- vendor IDs ----

enum class VendorId : std::uint8_t {
  unknown,
  nat_t_rfc3947,             // MD5("RFC 3947")
  nat_t_draft_02,            // MD5("draft-ietf-ipsec-nat-t-ike-02")
  nat_t_draft_02_n,          // MD5("draft-ietf-ipsec-nat-t-ike-02\n"), as Windows and macOS send it
  nat_t_draft_03,            // MD5("draft-ietf-ipsec-nat-t-ike-03")
  dpd,                       // RFC 3706 §5.1, version 1.0
  fragmentation,             // MD5("FRAGMENTATION"), optionally followed by 4 flag bytes
  ms_nt5_isakmpoakley,       // MD5("MS NT5 ISAKMPOAKLEY") + 4-byte Windows version
  ms_negotiation_discovery,  // "MS-Negotiation Discovery Capable"
  ms_ike_cga_v1,             // "IKE CGA version 1"
  ms_mamie_exists,           // "MS-MamieExists"
};

std::string_view name(VendorId v) noexcept;

struct VendorInfo {
  VendorId id = VendorId::unknown;
  std::uint32_t windows_version = 0;  // for ms_nt5_isakmpoakley
};

VendorInfo classify_vendor_id(ByteView vid) noexcept;
// "Windows 7", "Windows 8 or later"... for the MS NT5 version word.
std::string_view windows_name(std::uint32_t version) noexcept;

// The NAT-T dialect both sides will speak, best first.
enum class NatTVariant : std::uint8_t { none, draft_02, draft_03, rfc3947 };

struct PeerCapabilities {
  NatTVariant nat_t = NatTVariant::none;
  VendorId nat_t_vid = VendorId::unknown;  // the exact NAT-T VID to echo
  bool dpd = false;
  bool fragmentation = false;
  bool microsoft = false;
  std::uint32_t windows_version = 0;
};

PeerCapabilities scan_vendor_ids(std::span<const ByteView> vids) noexcept;

// Payload numbers and encapsulation modes of the chosen dialect.
PayloadType natd_payload(NatTVariant v) noexcept;
PayloadType natoa_payload(NatTVariant v) noexcept;
EncapMode udp_transport_mode(NatTVariant v) noexcept;
EncapMode udp_tunnel_mode(NatTVariant v) noexcept;

// The vendor IDs the responder sends back: the one NAT-T dialect it chose,
// DPD and fragmentation when the peer announced them.
std::vector<Bytes> responder_vendor_ids(const PeerCapabilities& peer);

// The raw bytes of a known vendor ID (the 16-byte hash, DPD with its version).
ByteView vendor_id_bytes(VendorId v) noexcept;

}  // namespace l2tpgw::ike
