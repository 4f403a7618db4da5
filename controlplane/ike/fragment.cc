#include "controlplane/ike/fragment.h"

#include <vector>

namespace l2tpgw::ike {

void FragmentReassembly::reset() {
  _started = false;
  _id = 0;
  _last = 0;
  _count = 0;
  _bytes = 0;
  for (auto& p : _parts) {
    p.clear();
  }
  _have.fill(false);
}

FragmentReassembly::Status FragmentReassembly::add(ByteView msg, std::string& why) {
  _whole.clear();
  auto refuse = [&](std::string text) {
    why = std::move(text);
    reset();
    return Status::refused;
  };
  Header h;
  if (const auto e = parse_header(msg, h); e != ParseError::none) {
    return refuse("fragment datagram: " + std::string(to_string(e)));
  }
  std::vector<PayloadView> payloads;
  if (const auto e = walk_payloads(h.next_payload, msg.subspan(header_len, h.length - header_len),
                                   false, payloads);
      e != ParseError::none) {
    return refuse("fragment datagram: " + std::string(to_string(e)));
  }
  if (payloads.size() != 1 ||
      payloads[0].type != static_cast<std::uint8_t>(PayloadType::fragment)) {
    return refuse("a fragment datagram holds one fragment payload and nothing else");
  }
  Fragment f;
  if (const auto e = parse_fragment(payloads[0].body, f); e != ParseError::none) {
    return refuse("fragment: " + std::string(to_string(e)));
  }
  if (f.number > max_fragments) {
    return refuse("fragment number " + std::to_string(f.number) + " above " +
                  std::to_string(max_fragments));
  }
  if (!_started || f.id != _id) {
    reset();
    _started = true;
    _id = f.id;
  }
  if (_have[f.number]) {
    return Status::incomplete;  // a retransmission of one we hold
  }
  if (f.last) {
    if (_last != 0) {
      return refuse("two last fragments");
    }
    for (std::size_t n = f.number + 1U; n <= max_fragments; ++n) {
      if (_have[n]) {
        return refuse("a fragment numbered after the last one");
      }
    }
    _last = f.number;
  } else if (_last != 0 && f.number > _last) {
    return refuse("fragment " + std::to_string(f.number) + " after the last one (" +
                  std::to_string(_last) + ")");
  }
  if (_bytes + f.data.size() > max_bytes) {
    return refuse("reassembled message over " + std::to_string(max_bytes) + " bytes");
  }
  _parts[f.number].assign(f.data.begin(), f.data.end());
  _have[f.number] = true;
  _bytes += f.data.size();
  ++_count;
  if (_last == 0 || _count != _last) {
    return Status::incomplete;
  }
  _whole.reserve(_bytes);
  for (std::size_t n = 1; n <= _last; ++n) {
    _whole.insert(_whole.end(), _parts[n].begin(), _parts[n].end());
  }
  Bytes whole = std::move(_whole);
  reset();
  _whole = std::move(whole);
  return Status::complete;
}

std::vector<Bytes> split_into_fragments(ByteView whole, std::uint16_t id, std::size_t max_bytes) {
  Header h;
  if (parse_header(whole, h) != ParseError::none) {
    return {};
  }
  constexpr std::size_t overhead = header_len + generic_header_len + 4;  // + id, number, flags
  if (max_bytes <= overhead) {
    return {};
  }
  const std::size_t room = max_bytes - overhead;
  const std::size_t count = (whole.size() + room - 1) / room;
  if (count == 0 || count > FragmentReassembly::max_fragments) {
    return {};
  }
  Header fh;
  fh.icookie = h.icookie;
  fh.rcookie = h.rcookie;
  fh.exchange = h.exchange;
  std::vector<Bytes> out;
  // Even parts (fragment n ends at n * size / count): no runt at the end.
  for (std::size_t n = 0; n < count; ++n) {
    const std::size_t from = n * whole.size() / count;
    const std::size_t to = (n + 1) * whole.size() / count;
    const ByteView part = whole.subspan(from, to - from);
    MessageBuilder b(fh);
    b.add(PayloadType::fragment,
          encode_fragment(id, static_cast<std::uint8_t>(n + 1), n + 1 == count, part));
    out.push_back(std::move(b).finish());
  }
  return out;
}

}  // namespace l2tpgw::ike
