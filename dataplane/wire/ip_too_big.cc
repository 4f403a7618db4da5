#include "dataplane/wire/ip_too_big.h"

#include "dataplane/wire/checksum.h"
#include "dataplane/wire/ipv4.h"

namespace l2tpgw::wire {

void ipv4_fragment_header(Ipv4Hdr& out, const Ipv4Hdr& orig, unsigned offset, unsigned len, bool last) noexcept {
  const std::uint16_t f = orig.frag.host();
  const unsigned base = (f & ipv4_offset_mask) * 8u;
  // The last piece keeps the original's MF: a fragment cut again is still
  // followed by the original's later fragments.
  const std::uint16_t mf = last ? static_cast<std::uint16_t>(f & ipv4_mf) : ipv4_mf;
  out = orig;
  out.total_len = Be16::from_host(static_cast<std::uint16_t>(sizeof(Ipv4Hdr) + len));
  out.frag = Be16::from_host(static_cast<std::uint16_t>((f & ipv4_df) | mf | ((base + offset) / 8)));
  out.csum = Be16{0};
  out.csum = Be16::from_host(ipv4_header_csum(reinterpret_cast<const std::uint8_t*>(&out)));
}

bool icmp_error_allowed(std::span<const std::uint8_t> bytes) noexcept {
  if (bytes.size() < sizeof(Ipv4Hdr)) {
    return false;
  }
  const auto* ip = reinterpret_cast<const Ipv4Hdr*>(bytes.data());
  if ((ip->frag.host() & ipv4_offset_mask) != 0) {
    return false;
  }
  const std::uint32_t src = ip->src.host();
  const std::uint32_t first = src >> 24;
  if (src == 0 || first == 127 || first >= 224) {
    return false;
  }
  if (ip->proto == ipproto_icmp) {
    if (bytes.size() < sizeof(Ipv4Hdr) + 1) {
      return false;
    }
    // Errors are types 3, 4, 5, 11 and 12; queries (echo, timestamp, ...)
    // may be answered.
    const std::uint8_t type = bytes[sizeof(Ipv4Hdr)];
    if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) {
      return false;
    }
  }
  return true;
}

void write_icmp_frag_needed(std::span<std::uint8_t> out, std::uint32_t src, std::uint32_t dst,
                            std::uint16_t mtu) noexcept {
  auto* ip = reinterpret_cast<Ipv4Hdr*>(out.data());
  auto* icmp = reinterpret_cast<IcmpHdr*>(ip + 1);
  *ip = Ipv4Hdr{};
  ip->ver_ihl = 0x45;
  // RFC 1812 §4.3.2.5: ICMP errors carry precedence 6, internetwork control.
  ip->tos = 0xc0;
  ip->total_len = Be16::from_host(static_cast<std::uint16_t>(out.size()));
  ip->ttl = originated_ttl;
  ip->proto = ipproto_icmp;
  ip->src = Be32::from_host(src);
  ip->dst = Be32::from_host(dst);
  ip->csum = Be16::from_host(ipv4_header_csum(out.data()));
  icmp->type = 3;
  icmp->code = 4;
  icmp->csum = Be16{0};
  icmp->id = Be16{0};  // unused (RFC 1191 §4)
  icmp->seq = Be16::from_host(mtu);
  icmp->csum = Be16::from_host(csum(out.subspan(sizeof(Ipv4Hdr))));
}

}  // namespace l2tpgw::wire
