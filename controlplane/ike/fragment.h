// IKEv1 fragmentation as Cisco introduced it and Windows, strongSwan and
// racoon implement it (vendor ID "FRAGMENTATION", payload 132): a message
// too big for one datagram — Main Mode message 5 with a certificate chain —
// travels as datagrams that each hold one fragment payload after an ISAKMP
// header with the original cookies. The fragments' data, in number order,
// is the whole original message, its own header included.
//
// Reassembly keeps one message per ISAKMP SA: a fragment with a new id
// starts over (peers number their messages upwards and resend all
// fragments of a message under its id).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "controlplane/ike/isakmp.h"

namespace l2tpgw::ike {

class FragmentReassembly {
 public:
  // Bounds what one peer can make us hold: strongSwan splits a message in
  // fragments of at most ~1280 bytes, so 16 of them carry any real
  // Main Mode message (the punt path takes 2 KB per datagram).
  static constexpr std::size_t max_fragments = 16;
  static constexpr std::size_t max_bytes = 16 * 1024;

  enum class Status : std::uint8_t { incomplete, complete, refused };

  // `msg` is one whole ISAKMP datagram whose only payload is a fragment.
  // `refused` names why in `why` and forgets what was gathered; `complete`
  // leaves the message in whole().
  Status add(ByteView msg, std::string& why);
  const Bytes& whole() const noexcept { return _whole; }
  void reset();

 private:
  bool _started = false;
  std::uint16_t _id = 0;
  std::uint8_t _last = 0;  // the number of the last fragment, once seen
  std::size_t _count = 0;
  std::size_t _bytes = 0;
  std::array<Bytes, max_fragments + 1> _parts;  // by number, from 1
  std::array<bool, max_fragments + 1> _have{};
  Bytes _whole;
};

// `whole` (one complete ISAKMP message) as fragment datagrams of at most
// `max_bytes` each, ISAKMP header included, numbered from 1 under `id`,
// the data cut in even parts.
// Each header keeps the message's cookies and exchange type with message
// ID 0 and no flags, as strongSwan and Windows send theirs. Empty when
// `max_bytes` leaves no room for data or more than max_fragments would be
// needed (the caller then sends the message whole).
std::vector<Bytes> split_into_fragments(ByteView whole, std::uint16_t id, std::size_t max_bytes);

}  // namespace l2tpgw::ike
