#include "dataplane/wire/ipv4.h"

#include "dataplane/wire/checksum.h"

namespace l2tpgw::wire {

Ipv4Check ipv4_check(std::span<const std::uint8_t> l3) noexcept {
  if (l3.size() < sizeof(Ipv4Hdr)) {
    return Ipv4Check::truncated;
  }
  const auto* ip = reinterpret_cast<const Ipv4Hdr*>(l3.data());
  if ((ip->ver_ihl >> 4) != 4) {
    return Ipv4Check::version;
  }
  const unsigned ihl = ip->ihl_bytes();
  if (ihl < sizeof(Ipv4Hdr) || ihl > l3.size()) {
    return Ipv4Check::header_len;
  }
  const unsigned total = ip->total_len.host();
  if (total > l3.size() || total < ihl) {
    return Ipv4Check::total_len;
  }
  const bool bad = ihl == sizeof(Ipv4Hdr) ? ipv4_header_csum(l3.data()) != 0
                                           : csum_fold(csum_partial(l3.first(ihl))) != 0;
  if (bad) {
    return Ipv4Check::checksum;
  }
  if (ip->ttl == 0) {
    return Ipv4Check::ttl_zero;
  }
  return Ipv4Check::ok;
}

}  // namespace l2tpgw::wire
