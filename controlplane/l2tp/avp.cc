#include "controlplane/l2tp/avp.h"

#include <algorithm>
#include <cstring>

#include "controlplane/l2tp/md5.h"
#include "dataplane/wire/be.h"

namespace l2tpgw::l2tp {
namespace {

struct AvpInfo {
  const char* name;
  bool known;
  bool mandatory;  // the M bit we send (§4.4, per AVP)
};

// Indexed by attribute type. Where §4.4 lets the sender choose the M bit we
// set it only on the AVPs whose loss would change the meaning of a message.
constexpr AvpInfo avp_table[avp_type_count] = {
    {"Message Type", true, true},
    {"Result Code", true, true},
    {"Protocol Version", true, true},
    {"Framing Capabilities", true, true},
    {"Bearer Capabilities", true, true},
    {"Tie Breaker", true, false},
    {"Firmware Revision", true, false},
    {"Host Name", true, true},
    {"Vendor Name", true, false},
    {"Assigned Tunnel ID", true, true},
    {"Receive Window Size", true, true},
    {"Challenge", true, true},
    {"Q.931 Cause Code", true, true},
    {"Challenge Response", true, true},
    {"Assigned Session ID", true, true},
    {"Call Serial Number", true, true},
    {"Minimum BPS", true, true},
    {"Maximum BPS", true, true},
    {"Bearer Type", true, true},
    {"Framing Type", true, true},
    {"reserved (20)", false, false},
    {"Called Number", true, true},
    {"Calling Number", true, true},
    {"Sub-Address", true, true},
    {"Tx Connect Speed", true, true},
    {"Physical Channel ID", true, false},
    {"Initial Received LCP CONFREQ", true, false},
    {"Last Sent LCP CONFREQ", true, false},
    {"Last Received LCP CONFREQ", true, false},
    {"Proxy Authen Type", true, false},
    {"Proxy Authen Name", true, false},
    {"Proxy Authen Challenge", true, false},
    {"Proxy Authen ID", true, false},
    {"Proxy Authen Response", true, false},
    {"Call Errors", true, true},
    {"ACCM", true, true},
    {"Random Vector", true, true},
    {"Private Group ID", true, false},
    {"Rx Connect Speed", true, false},
    {"Sequencing Required", true, true},
};

std::uint16_t load16(const std::uint8_t* p) noexcept {
  wire::Be16 v;
  std::memcpy(&v, p, sizeof(v));
  return v.host();
}

void append16(std::vector<std::uint8_t>& out, std::uint16_t host) {
  const wire::Be16 v = wire::Be16::from_host(host);
  std::uint8_t b[2];
  std::memcpy(b, &v, 2);
  out.push_back(b[0]);
  out.push_back(b[1]);
}

std::span<const std::uint8_t> bytes_of(const std::uint16_t& type_be_holder) {
  return {reinterpret_cast<const std::uint8_t*>(&type_be_holder), 2};
}

// XORs data in place with the §4.3 key stream. The chain hashes the
// ciphertext of the previous block, which is data itself when hiding (after
// the XOR) and the input when unhiding (before it).
void hide_xor(std::uint16_t type, std::span<std::uint8_t> data,
              std::span<const std::uint8_t> secret, std::span<const std::uint8_t> rv, bool hiding) {
  const std::uint16_t type_net = wire::Be16::from_host(type).raw;
  Md5Digest key = md5({bytes_of(type_net), secret, rv});
  std::uint8_t prev_cipher[16];
  for (std::size_t at = 0; at < data.size(); at += 16) {
    if (at != 0) {
      key = md5({secret, std::span<const std::uint8_t>(prev_cipher, 16)});
    }
    const std::size_t n = std::min<std::size_t>(16, data.size() - at);
    for (std::size_t i = 0; i < n; ++i) {
      if (hiding) {
        data[at + i] ^= key[i];
        prev_cipher[i] = data[at + i];
      } else {
        prev_cipher[i] = data[at + i];
        data[at + i] ^= key[i];
      }
    }
  }
}

}  // namespace

bool known_avp_type(std::uint16_t type) noexcept {
  return type < avp_type_count && avp_table[type].known;
}

const char* avp_name(std::uint16_t type) noexcept {
  return type < avp_type_count ? avp_table[type].name : "unknown";
}

bool avp_mandatory_bit(AvpType type) noexcept {
  const auto t = static_cast<std::uint16_t>(type);
  return t < avp_type_count && avp_table[t].mandatory;
}

const char* avp_error_name(AvpError e) noexcept {
  switch (e) {
#define L2TP_X(name, text) \
  case AvpError::name:     \
    return #name;
    L2TP_AVP_ERRORS(L2TP_X)
#undef L2TP_X
  }
  return "unknown";
}

const char* describe(AvpError e) noexcept {
  switch (e) {
#define L2TP_X(name, text) \
  case AvpError::name:     \
    return text;
    L2TP_AVP_ERRORS(L2TP_X)
#undef L2TP_X
  }
  return "unknown";
}

std::vector<std::uint8_t> hide_avp_value(std::uint16_t type, std::span<const std::uint8_t> value,
                                         std::span<const std::uint8_t> secret,
                                         std::span<const std::uint8_t> random_vector,
                                         std::span<const std::uint8_t> padding) {
  std::vector<std::uint8_t> sub;
  sub.reserve(2 + value.size() + padding.size());
  append16(sub, static_cast<std::uint16_t>(value.size()));
  sub.insert(sub.end(), value.begin(), value.end());
  sub.insert(sub.end(), padding.begin(), padding.end());
  hide_xor(type, sub, secret, random_vector, true);
  return sub;
}

AvpError unhide_avp_value(std::uint16_t type, std::span<const std::uint8_t> hidden,
                          std::span<const std::uint8_t> secret,
                          std::span<const std::uint8_t> random_vector,
                          std::vector<std::uint8_t>& value) {
  if (secret.empty()) {
    return AvpError::hidden_without_secret;
  }
  if (random_vector.empty()) {
    return AvpError::hidden_without_random_vector;
  }
  if (hidden.size() < 2) {
    return AvpError::hidden_too_short;
  }
  std::vector<std::uint8_t> sub(hidden.begin(), hidden.end());
  hide_xor(type, sub, secret, random_vector, false);
  const std::size_t original = load16(sub.data());
  // A wrong secret shows up here most of the time: the decrypted length is
  // noise and usually exceeds what is there.
  if (original > sub.size() - 2) {
    return AvpError::hidden_length_lies;
  }
  value.assign(sub.begin() + 2, sub.begin() + 2 + static_cast<std::ptrdiff_t>(original));
  return AvpError::ok;
}

AvpList parse_avp_list(std::span<const std::uint8_t> body, std::span<const std::uint8_t> secret) {
  AvpList r;
  std::vector<std::uint8_t> random_vector;
  std::size_t at = 0;
  const auto fail = [&r, &at](AvpError e, std::uint16_t type) {
    r.error = e;
    r.error_type = type;
    r.error_offset = at;
  };
  while (at < body.size()) {
    if (body.size() - at < avp_header_len) {
      fail(AvpError::truncated, 0);
      return r;
    }
    const std::uint8_t* p = body.data() + at;
    const std::uint16_t flags_len = load16(p);
    const std::uint16_t vendor = load16(p + 2);
    const std::uint16_t type = load16(p + 4);
    const std::size_t len = flags_len & avp_length_mask;
    // §4.1: the reserved bits are for future extensions; like the header's
    // x bits they are not looked at on receipt.
    if (len < avp_header_len) {
      fail(AvpError::bad_length, type);
      return r;
    }
    if (len > body.size() - at) {
      fail(AvpError::length_beyond_message, type);
      return r;
    }
    const bool mandatory = (flags_len & avp_flag_mandatory) != 0;
    const bool hidden = (flags_len & avp_flag_hidden) != 0;
    const std::span<const std::uint8_t> raw =
        body.subspan(at + avp_header_len, len - avp_header_len);
    if (vendor != 0 || !known_avp_type(type)) {
      // §4.1: an unrecognised AVP with M set tears down the session or the
      // tunnel; without M it is ignored. The walk goes on either way.
      if (mandatory) {
        if (r.error == AvpError::ok) {
          fail(AvpError::unknown_mandatory, type);
        }
      } else {
        ++r.ignored;
      }
      at += len;
      continue;
    }
    Avp avp;
    avp.mandatory = mandatory;
    avp.hidden = hidden;
    avp.vendor_id = vendor;
    avp.type = type;
    avp.offset = at;
    if (hidden) {
      // Message Type must be readable before anything else is, and a hidden
      // Random Vector would need itself to be unhidden.
      if (type == static_cast<std::uint16_t>(AvpType::message_type) ||
          type == static_cast<std::uint16_t>(AvpType::random_vector)) {
        fail(AvpError::hidden_not_allowed, type);
        return r;
      }
      const AvpError e = unhide_avp_value(type, raw, secret, random_vector, avp.value);
      if (e != AvpError::ok) {
        fail(e, type);
        return r;
      }
    } else {
      avp.value.assign(raw.begin(), raw.end());
    }
    if (type == static_cast<std::uint16_t>(AvpType::random_vector)) {
      // §4.3: a Random Vector applies to the hidden AVPs after it, up to the
      // next Random Vector.
      if (avp.value.empty()) {
        fail(AvpError::bad_value_length, type);
        return r;
      }
      random_vector = avp.value;
    }
    r.avps.push_back(std::move(avp));
    at += len;
  }
  return r;
}

bool AvpWriter::put_header(std::uint16_t flags_len, std::uint16_t vendor, std::uint16_t type) {
  append16(_out, flags_len);
  append16(_out, vendor);
  append16(_out, type);
  return true;
}

bool AvpWriter::put_vendor(std::uint16_t vendor_id, std::uint16_t type, bool mandatory,
                           std::span<const std::uint8_t> value) {
  const std::size_t len = avp_header_len + value.size();
  if (len > avp_max_len) {
    _failed = true;
    return false;
  }
  put_header(static_cast<std::uint16_t>(len | (mandatory ? avp_flag_mandatory : 0)), vendor_id,
             type);
  _out.insert(_out.end(), value.begin(), value.end());
  return true;
}

bool AvpWriter::put(std::uint16_t type, bool mandatory, std::span<const std::uint8_t> value) {
  return put_vendor(0, type, mandatory, value);
}

bool AvpWriter::put_random_vector(std::span<const std::uint8_t> rv) {
  if (rv.empty() || !put(AvpType::random_vector, rv)) {
    _failed = true;
    return false;
  }
  _random_vector.assign(rv.begin(), rv.end());
  return true;
}

bool AvpWriter::put_hidden(AvpType type, std::span<const std::uint8_t> value,
                           std::span<const std::uint8_t> secret,
                           std::span<const std::uint8_t> padding) {
  const auto t = static_cast<std::uint16_t>(type);
  const std::size_t len = avp_header_len + 2 + value.size() + padding.size();
  if (secret.empty() || _random_vector.empty() || len > avp_max_len ||
      type == AvpType::message_type || type == AvpType::random_vector) {
    _failed = true;
    return false;
  }
  const std::vector<std::uint8_t> hidden =
      hide_avp_value(t, value, secret, _random_vector, padding);
  const std::uint16_t flags = static_cast<std::uint16_t>(
      len | avp_flag_hidden | (avp_mandatory_bit(type) ? avp_flag_mandatory : 0));
  put_header(flags, 0, t);
  _out.insert(_out.end(), hidden.begin(), hidden.end());
  return true;
}

}  // namespace l2tpgw::l2tp
