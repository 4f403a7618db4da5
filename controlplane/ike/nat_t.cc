#include "controlplane/ike/nat_t.h"

#include <algorithm>
#include <array>

#include "controlplane/ike/keys.h"
#include "controlplane/ike/wire_util.h"

namespace l2tpgw::ike {

SecretBytes natd_hash(Hash h, const Cookie& cky_i, const Cookie& cky_r, Endpoint e) {
  const std::array<std::uint8_t, 2> port{static_cast<std::uint8_t>(e.port >> 8),
                                         static_cast<std::uint8_t>(e.port)};
  return digest(h, {cky_i, cky_r, e.address, port});
}

NatDetection detect_nat(Hash h, const Cookie& cky_i, const Cookie& cky_r,
                        std::span<const ByteView> received, Endpoint local, Endpoint peer) {
  NatDetection d;
  if (received.empty()) {
    return d;
  }
  // Hashes are public values, so a plain comparison is fine here.
  const auto ours = natd_hash(h, cky_i, cky_r, local);
  d.local_behind_nat = !std::ranges::equal(received[0], ours);
  const auto theirs = natd_hash(h, cky_i, cky_r, peer);
  d.peer_behind_nat = std::none_of(received.begin() + 1, received.end(),
                                   [&](ByteView r) { return std::ranges::equal(r, theirs); });
  return d;
}

std::vector<SecretBytes> responder_natd(Hash h, const Cookie& cky_i, const Cookie& cky_r,
                                        Endpoint local, Endpoint peer) {
  std::vector<SecretBytes> out;
  out.push_back(natd_hash(h, cky_i, cky_r, peer));
  out.push_back(natd_hash(h, cky_i, cky_r, local));
  return out;
}

namespace {

using Vid16 = std::array<std::uint8_t, 16>;

struct KnownVid {
  VendorId id;
  Vid16 bytes;
  // Bytes that must match; the rest may carry a version or flags.
  std::size_t prefix;
  std::size_t max_len;
};

constexpr KnownVid known_vids[] = {
    {VendorId::nat_t_rfc3947,
     {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45,
      0x2f},
     16,
     16},
    {VendorId::nat_t_draft_02,
     {0xcd, 0x60, 0x46, 0x43, 0x35, 0xdf, 0x21, 0xf8, 0x7c, 0xfd, 0xb2, 0xfc, 0x68, 0xb6, 0xa4,
      0x48},
     16,
     16},
    {VendorId::nat_t_draft_02_n,
     {0x90, 0xcb, 0x80, 0x91, 0x3e, 0xbb, 0x69, 0x6e, 0x08, 0x63, 0x81, 0xb5, 0xec, 0x42, 0x7b,
      0x1f},
     16,
     16},
    {VendorId::nat_t_draft_03,
     {0x7d, 0x94, 0x19, 0xa6, 0x53, 0x10, 0xca, 0x6f, 0x2c, 0x17, 0x9d, 0x92, 0x15, 0x52, 0x9d,
      0x56},
     16,
     16},
    // RFC 3706 §5.1: 14 fixed bytes, then major 1 / minor 0.
    {VendorId::dpd,
     {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01,
      0x00},
     14,
     16},
    // strongSwan appends 4 flag bytes (0x80000000 or 0xc0000000); Windows does not.
    {VendorId::fragmentation,
     {0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85, 0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2,
      0xd3},
     16,
     20},
    // Followed by a 4-byte version word (2 = Windows 2000 ... 9 = Windows 8 and later).
    {VendorId::ms_nt5_isakmpoakley,
     {0x1e, 0x2b, 0x51, 0x69, 0x05, 0x99, 0x1c, 0x7d, 0x7c, 0x96, 0xfc, 0xbf, 0xb5, 0x87, 0xe4,
      0x61},
     16,
     20},
    {VendorId::ms_negotiation_discovery,
     {0xfb, 0x1d, 0xe3, 0xcd, 0xf3, 0x41, 0xb7, 0xea, 0x16, 0xb7, 0xe5, 0xbe, 0x08, 0x55, 0xf1,
      0x20},
     16,
     16},
    {VendorId::ms_ike_cga_v1,
     {0xe3, 0xa5, 0x96, 0x6a, 0x76, 0x37, 0x9f, 0xe7, 0x07, 0x22, 0x82, 0x31, 0xe5, 0xce, 0x86,
      0x52},
     16,
     16},
    {VendorId::ms_mamie_exists,
     {0x21, 0x4c, 0xa4, 0xfa, 0xff, 0xa7, 0xf3, 0x2d, 0x67, 0x48, 0xe5, 0x30, 0x33, 0x95, 0xae,
      0x83},
     16,
     16},
};

const KnownVid* find_known(VendorId v) noexcept {
  for (const auto& k : known_vids) {
    if (k.id == v) {
      return &k;
    }
  }
  return nullptr;
}

}  // namespace

std::string_view name(VendorId v) noexcept {
  switch (v) {
    case VendorId::unknown:
      return "unknown";
    case VendorId::nat_t_rfc3947:
      return "RFC 3947 NAT-T";
    case VendorId::nat_t_draft_02:
      return "draft-ietf-ipsec-nat-t-ike-02";
    case VendorId::nat_t_draft_02_n:
      return "draft-ietf-ipsec-nat-t-ike-02\\n";
    case VendorId::nat_t_draft_03:
      return "draft-ietf-ipsec-nat-t-ike-03";
    case VendorId::dpd:
      return "DPD";
    case VendorId::fragmentation:
      return "IKE fragmentation";
    case VendorId::ms_nt5_isakmpoakley:
      return "MS NT5 ISAKMPOAKLEY";
    case VendorId::ms_negotiation_discovery:
      return "MS-Negotiation Discovery Capable";
    case VendorId::ms_ike_cga_v1:
      return "IKE CGA version 1";
    case VendorId::ms_mamie_exists:
      return "MS-MamieExists";
  }
  return "?";
}

VendorInfo classify_vendor_id(ByteView vid) noexcept {
  VendorInfo info;
  for (const auto& k : known_vids) {
    if (vid.size() < k.prefix || vid.size() > k.max_len ||
        !std::equal(k.bytes.begin(), k.bytes.begin() + static_cast<std::ptrdiff_t>(k.prefix),
                    vid.begin())) {
      continue;
    }
    // Lengths between 16 and max_len other than exactly max_len are not
    // a known layout (a 17-byte MS VID is not a version word).
    if (vid.size() != 16 && vid.size() != k.max_len) {
      continue;
    }
    info.id = k.id;
    if (k.id == VendorId::ms_nt5_isakmpoakley && vid.size() == 20) {
      info.windows_version = get32(vid, 16);
    }
    return info;
  }
  return info;
}

std::string_view windows_name(std::uint32_t version) noexcept {
  switch (version) {
    case 2:
      return "Windows 2000";
    case 3:
      return "Windows XP";
    case 4:
      return "Windows Server 2003 / XP SP2";
    case 5:
      return "Windows Vista";
    case 6:
      return "Windows Server 2008";
    case 7:
      return "Windows 7";
    case 8:
      return "Windows Server 2008 R2";
    case 9:
      return "Windows 8 or later";
    case 0x10:
      return "Windows Server 2012";
    default:
      return "Windows (unknown version)";
  }
}

namespace {

NatTVariant variant_of(VendorId v) noexcept {
  switch (v) {
    case VendorId::nat_t_rfc3947:
      return NatTVariant::rfc3947;
    case VendorId::nat_t_draft_03:
      return NatTVariant::draft_03;
    case VendorId::nat_t_draft_02:
    case VendorId::nat_t_draft_02_n:
      return NatTVariant::draft_02;
    default:
      return NatTVariant::none;
  }
}

}  // namespace

PeerCapabilities scan_vendor_ids(std::span<const ByteView> vids) noexcept {
  PeerCapabilities caps;
  for (const auto vid : vids) {
    const auto info = classify_vendor_id(vid);
    const auto variant = variant_of(info.id);
    if (variant > caps.nat_t) {
      caps.nat_t = variant;
      caps.nat_t_vid = info.id;
    }
    switch (info.id) {
      case VendorId::dpd:
        caps.dpd = true;
        break;
      case VendorId::fragmentation:
        caps.fragmentation = true;
        break;
      case VendorId::ms_nt5_isakmpoakley:
        caps.microsoft = true;
        caps.windows_version = info.windows_version;
        break;
      case VendorId::ms_negotiation_discovery:
      case VendorId::ms_ike_cga_v1:
      case VendorId::ms_mamie_exists:
        caps.microsoft = true;
        break;
      default:
        break;
    }
  }
  return caps;
}

PayloadType natd_payload(NatTVariant v) noexcept {
  return v == NatTVariant::rfc3947 ? PayloadType::nat_d : PayloadType::nat_d_draft;
}

PayloadType natoa_payload(NatTVariant v) noexcept {
  return v == NatTVariant::rfc3947 ? PayloadType::nat_oa : PayloadType::nat_oa_draft;
}

EncapMode udp_transport_mode(NatTVariant v) noexcept {
  return v == NatTVariant::rfc3947 ? EncapMode::udp_transport : EncapMode::udp_transport_draft;
}

EncapMode udp_tunnel_mode(NatTVariant v) noexcept {
  return v == NatTVariant::rfc3947 ? EncapMode::udp_tunnel : EncapMode::udp_tunnel_draft;
}

ByteView vendor_id_bytes(VendorId v) noexcept {
  const auto* k = find_known(v);
  return k == nullptr ? ByteView{} : ByteView(k->bytes);
}

std::vector<Bytes> responder_vendor_ids(const PeerCapabilities& peer) {
  std::vector<Bytes> out;
  auto add = [&](VendorId v) {
    const auto b = vendor_id_bytes(v);
    out.emplace_back(b.begin(), b.end());
  };
  if (peer.nat_t != NatTVariant::none) {
    add(peer.nat_t_vid);
  }
  if (peer.dpd) {
    add(VendorId::dpd);
  }
  if (peer.fragmentation) {
    add(VendorId::fragmentation);  // reassembled by ike/fragment.h
  }
  return out;
}

}  // namespace l2tpgw::ike
