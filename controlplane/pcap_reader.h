// Reading the packets of a classic libpcap file as whole IPv4 packets, for
// `l2tpgwctl inject`. A pure function over the file's bytes: no I/O, the
// packets are views into the input.
//
// Link types (tcpdump.org LINKTYPE_*): RAW (101) and IPV4 (228) carry the IP
// packet itself; ETHERNET (1) frames are accepted by removing their 14-byte
// header, and IPv4 frames are cut to the IPv4 total length since Ethernet
// pads short frames to 60 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace l2tpgw::cp {

inline constexpr std::uint32_t linktype_ethernet = 1;
inline constexpr std::uint32_t linktype_raw = 101;
inline constexpr std::uint32_t linktype_ipv4 = 228;

enum class PcapError : std::uint8_t {
  none,
  too_short,         // no complete 24-byte file header
  bad_magic,         // not a libpcap file (pcapng is not read)
  bad_linktype,      // a link type other than the three above
  truncated_record,  // a record header or its data runs past the end of the file
};

std::string_view pcap_error_name(PcapError e);

struct PcapPackets {
  PcapError error = PcapError::none;
  std::size_t error_offset = 0;  // where the file stopped making sense
  std::uint32_t linktype = 0;
  std::vector<std::span<const std::uint8_t>> packets;  // in file order
  unsigned records = 0;     // every record read
  unsigned not_ipv4 = 0;    // Ethernet of another type; raw IPv6 or empty records
  unsigned truncated = 0;   // captured shorter than on the wire (snap length)
};

// On error, `packets` holds what preceded the bad record and nothing is
// meant to be sent from it.
PcapPackets read_ipv4_pcap(std::span<const std::uint8_t> file);

}  // namespace l2tpgw::cp
