#include "dataplane/wire/icmp.h"

#include <utility>

#include "dataplane/wire/checksum.h"
#include "dataplane/wire/headers.h"
#include "dataplane/wire/ipv4.h"

namespace l2tpgw::wire {

EchoResult icmp_echo_reply_in_place(std::span<std::uint8_t> bytes) noexcept {
  if (bytes.size() < sizeof(Ipv4Hdr) + sizeof(IcmpHdr)) {
    return EchoResult::malformed;
  }
  auto* ip = reinterpret_cast<Ipv4Hdr*>(bytes.data());
  auto icmp_bytes = bytes.subspan(sizeof(Ipv4Hdr));
  auto* icmp = reinterpret_cast<IcmpHdr*>(icmp_bytes.data());
  if (csum_fold(csum_partial(icmp_bytes)) != 0) {
    return EchoResult::malformed;
  }
  if (icmp->type != 8 || icmp->code != 0) {
    return EchoResult::not_echo_request;
  }
  // Type 8 → 0 changes the first 16-bit word (type, code) only.
  icmp->type = 0;
  icmp->csum = Be16::from_host(csum_update16(icmp->csum.host(), 0x0800, 0x0000));
  const Be32 src = ip->src;
  ip->src = ip->dst;
  ip->dst = src;
  ip->ttl = originated_ttl;
  ip->csum = Be16{0};
  ip->csum = Be16::from_host(csum(bytes.first(sizeof(Ipv4Hdr))));
  return EchoResult::reply;
}

}  // namespace l2tpgw::wire
