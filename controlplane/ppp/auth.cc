#include "controlplane/ppp/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dataplane/wire/ppp.h"

namespace l2tpgw::ppp {
namespace {

// RFC 1334 §2.2, RFC 1994 §4 codes.
constexpr std::uint8_t pap_request = 1;
constexpr std::uint8_t pap_ack = 2;
constexpr std::uint8_t pap_nak = 3;
constexpr std::uint8_t chap_challenge = 1;
constexpr std::uint8_t chap_response = 2;
constexpr std::uint8_t chap_success = 3;
constexpr std::uint8_t chap_failure = 4;
// RFC 2759 §4: Peer-Challenge 16, Reserved 8, NT-Response 24, Flags 1.
constexpr std::size_t mschapv2_value_size = 49;

std::span<const std::uint8_t> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string_view as_text(std::span<const std::uint8_t> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Equal passwords without a timing signal on where they differ or on their
// lengths: compare fixed-size digests.
bool same_secret(std::string_view a, std::string_view b) {
  std::uint8_t da[EVP_MAX_MD_SIZE];
  std::uint8_t db[EVP_MAX_MD_SIZE];
  unsigned la = 0;
  unsigned lb = 0;
  const bool ok = EVP_Digest(a.data(), a.size(), da, &la, EVP_sha256(), nullptr) == 1 &&
                  EVP_Digest(b.data(), b.size(), db, &lb, EVP_sha256(), nullptr) == 1 && la == lb;
  const bool eq = ok && CRYPTO_memcmp(da, db, la) == 0;
  OPENSSL_cleanse(da, sizeof da);
  OPENSSL_cleanse(db, sizeof db);
  return eq;
}

std::string hex_upper(std::span<const std::uint8_t> b) {
  static constexpr char d[] = "0123456789ABCDEF";
  std::string s;
  for (std::uint8_t x : b) {
    s.push_back(d[x >> 4]);
    s.push_back(d[x & 15]);
  }
  return s;
}

}  // namespace

const char* describe(AuthOutcome o) noexcept {
  switch (o) {
    case AuthOutcome::pending:
      return "pending";
    case AuthOutcome::success:
      return "success";
    case AuthOutcome::unknown_user:
      return "unknown user";
    case AuthOutcome::wrong_password:
      return "wrong password";
    case AuthOutcome::protocol_not_allowed:
      return "authentication protocol not allowed";
    case AuthOutcome::timeout:
      return "no answer from the client";
  }
  return "unknown";
}

std::string AuthResult::cause() const {
  std::string who = user.empty() ? std::string("authentication failed")
                                 : "authentication failed for user " + user;
  return who + ": " + describe(outcome) + " (" + auth_name(proto) + ")";
}

Authenticator::Authenticator(const PppSettings& settings, const UserDb& users, Random& random,
                             Outbox& out, Counters& counters)
    : _settings(settings), _users(users), _random(random), _out(out), _counters(counters) {
}

Authenticator::~Authenticator() {
  OPENSSL_cleanse(_result.password_hash.data(), _result.password_hash.size());
}

void Authenticator::start(Time now, AuthProto proto) {
  _started = true;
  _proto = proto;
  _result.proto = proto;
  _tries = 0;
  if (proto == AuthProto::pap) {
    // The client speaks first (RFC 1334 §2.1); give it as long as a
    // challenge would get with all its retransmissions.
    _deadline = now + _settings.timers.restart * _settings.timers.max_configure;
    return;
  }
  _random.fill(_challenge);
  _id = static_cast<std::uint8_t>(_random.u32());
  send_challenge(now);
}

void Authenticator::restore(AuthProto proto, const std::string& user) {
  _proto = proto;
  _deadline.reset();
  _result = AuthResult{};
  _result.outcome = AuthOutcome::success;
  _result.proto = proto;
  _result.user = user;
  _result.record = _users.find(user);
}

void Authenticator::check_proxy(AuthProto proto, std::string_view name,
                                std::span<const std::uint8_t> challenge, std::uint8_t id,
                                std::span<const std::uint8_t> response) {
  _started = true;
  _proto = proto;
  _result.proto = proto;
  _result.user = std::string(name);
  const User* u = _users.find(name);
  AuthOutcome o = AuthOutcome::success;
  if (proto == AuthProto::mschapv2) {
    o = AuthOutcome::protocol_not_allowed;
  } else if (u == nullptr) {
    o = AuthOutcome::unknown_user;
  } else if (proto == AuthProto::pap) {
    if (!same_secret(as_text(response), u->password)) {
      o = AuthOutcome::wrong_password;
    }
  } else {
    Hash16 expect = chap_md5_response(id, u->password, challenge);
    if (!equal_ct(expect, response)) {
      o = AuthOutcome::wrong_password;
    }
    OPENSSL_cleanse(expect.data(), expect.size());
  }
  _result.record = o == AuthOutcome::success ? u : nullptr;
  finish(o);
}

void Authenticator::send_challenge(Time now) {
  // RFC 1994 §4.1: Value-Size, Value, Name. MS-CHAPv2 fixes the value at 16
  // bytes (RFC 2759 §3).
  Bytes data;
  data.push_back(static_cast<std::uint8_t>(_challenge.size()));
  data.insert(data.end(), _challenge.begin(), _challenge.end());
  const auto name = as_bytes(_settings.server_name);
  data.insert(data.end(), name.begin(), name.end());
  _out.send(wire::ppp_proto_chap, build_packet(static_cast<Code>(chap_challenge), _id, data));
  ++_tries;
  _deadline = now + _settings.timers.restart;
}

void Authenticator::tick(Time now) {
  if (!_deadline || now < *_deadline || done()) {
    return;
  }
  _deadline.reset();
  if (_proto != AuthProto::pap && _tries < _settings.timers.max_configure) {
    send_challenge(now);
    return;
  }
  finish(AuthOutcome::timeout);
}

void Authenticator::finish(AuthOutcome o) {
  _result.outcome = o;
  _deadline.reset();
}

void Authenticator::input(Time, std::uint16_t protocol, std::span<const std::uint8_t> bytes) {
  const PacketParse pp = parse_packet(bytes);
  if (!pp.ok()) {
    _counters.add(to_counter(pp.error));
    return;
  }
  if (!_started) {
    _counters.add(Counter::auth_unexpected);
    return;
  }
  const bool pap = protocol == wire::ppp_proto_pap;
  if (pap != (_proto == AuthProto::pap)) {
    _counters.add(Counter::auth_unexpected);
    return;
  }
  if (pap) {
    pap_input(pp.packet);
  } else {
    chap_input(pp.packet);
  }
}

void Authenticator::pap_input(const Packet& p) {
  if (p.code != pap_request) {
    _counters.add(Counter::auth_unexpected);
    return;
  }
  if (done()) {
    if (!_reply.empty() && p.id == _id) {
      _out.send(_reply_protocol, _reply);
    }
    return;
  }
  // RFC 1334 §2.2.1: Peer-ID Length, Peer-ID, Passwd-Length, Password.
  const auto d = p.data;
  if (d.empty() || d.size() < 1u + d[0] + 1u || d.size() < 1u + d[0] + 1u + d[1u + d[0]]) {
    _counters.add(Counter::pap_bad_length);
    return;
  }
  const std::string_view name = as_text(d.subspan(1, d[0]));
  const std::size_t plen = d[1u + d[0]];
  const std::string_view password = as_text(d.subspan(2u + d[0], plen));
  _result.user = std::string(name);
  _id = p.id;
  const User* u = _users.find(name);
  AuthOutcome o = AuthOutcome::success;
  if (u == nullptr) {
    o = AuthOutcome::unknown_user;
  } else if (!same_secret(password, u->password)) {
    o = AuthOutcome::wrong_password;
  }
  _result.record = o == AuthOutcome::success ? u : nullptr;
  const std::string_view msg = o == AuthOutcome::success ? "Welcome" : "Authentication failed";
  Bytes data;
  data.push_back(static_cast<std::uint8_t>(msg.size()));
  const auto m = as_bytes(msg);
  data.insert(data.end(), m.begin(), m.end());
  _reply_protocol = wire::ppp_proto_pap;
  _reply =
      build_packet(static_cast<Code>(o == AuthOutcome::success ? pap_ack : pap_nak), p.id, data);
  _out.send(_reply_protocol, _reply);
  finish(o);
}

void Authenticator::chap_input(const Packet& p) {
  if (p.code != chap_response) {
    _counters.add(Counter::auth_unexpected);
    return;
  }
  if (p.id != _id) {
    _counters.add(Counter::auth_stale_id);
    return;
  }
  if (done()) {
    if (!_reply.empty()) {
      _out.send(_reply_protocol, _reply);
    }
    return;
  }
  // RFC 1994 §4.1: Value-Size, Value, Name (the rest).
  const auto d = p.data;
  if (d.empty() || d.size() < 1u + d[0]) {
    _counters.add(_proto == AuthProto::mschapv2 ? Counter::mschapv2_bad_length
                                                : Counter::chap_bad_length);
    return;
  }
  const auto value = d.subspan(1, d[0]);
  const std::string_view name = as_text(d.subspan(1u + d[0]));
  if (_proto == AuthProto::mschapv2) {
    mschapv2_check(p, value, name);
  } else {
    chap_md5_check(p, value, name);
  }
}

void Authenticator::chap_md5_check(const Packet& p, std::span<const std::uint8_t> value,
                                   std::string_view name) {
  if (value.size() != 16) {
    _counters.add(Counter::chap_bad_length);
    return;
  }
  _result.user = std::string(name);
  const User* u = _users.find(name);
  AuthOutcome o = AuthOutcome::success;
  if (u == nullptr) {
    o = AuthOutcome::unknown_user;
  } else {
    Hash16 expect = chap_md5_response(p.id, u->password, _challenge);
    if (!equal_ct(expect, value)) {
      o = AuthOutcome::wrong_password;
    }
    OPENSSL_cleanse(expect.data(), expect.size());
  }
  _result.record = o == AuthOutcome::success ? u : nullptr;
  const std::string_view msg = o == AuthOutcome::success ? "Welcome" : "Authentication failed";
  _reply_protocol = wire::ppp_proto_chap;
  _reply = build_packet(static_cast<Code>(o == AuthOutcome::success ? chap_success : chap_failure),
                        p.id, as_bytes(msg));
  _out.send(_reply_protocol, _reply);
  finish(o);
}

void Authenticator::mschapv2_check(const Packet& p, std::span<const std::uint8_t> value,
                                   std::string_view name) {
  if (value.size() != mschapv2_value_size) {
    _counters.add(Counter::mschapv2_bad_length);
    return;
  }
  const std::span<const std::uint8_t, 16> peer_challenge = value.subspan<0, 16>();
  const std::span<const std::uint8_t, 24> nt_response = value.subspan<24, 24>();
  const std::string_view user = strip_domain(name);
  _result.user = std::string(user);
  const User* u = _users.find(user);
  AuthOutcome o = AuthOutcome::success;
  Hash16 hash{};
  if (u == nullptr) {
    o = AuthOutcome::unknown_user;
  } else {
    hash = nt_password_hash(u->password);
    auto expect = generate_nt_response(_challenge, peer_challenge, user, hash);
    if (!equal_ct(expect, nt_response)) {
      o = AuthOutcome::wrong_password;
    }
    OPENSSL_cleanse(expect.data(), expect.size());
  }
  std::string msg;
  if (o == AuthOutcome::success) {
    // RFC 2759 §5: "S=<auth_string> M=<message>".
    msg =
        authenticator_response(hash, nt_response, peer_challenge, _challenge, user) + " M=Welcome";
    _result.record = u;
    _result.have_mppe_material = true;
    _result.password_hash = hash;
    std::copy(nt_response.begin(), nt_response.end(), _result.nt_response.begin());
  } else {
    // RFC 2759 §6: E=691 (authentication failure), no retry, the challenge
    // a retry would have used, version 3.
    msg = "E=691 R=0 C=" + hex_upper(_challenge) + " V=3 M=Authentication failed";
  }
  OPENSSL_cleanse(hash.data(), hash.size());
  _reply_protocol = wire::ppp_proto_chap;
  _reply = build_packet(static_cast<Code>(o == AuthOutcome::success ? chap_success : chap_failure),
                        p.id, as_bytes(msg));
  _out.send(_reply_protocol, _reply);
  finish(o);
}

}  // namespace l2tpgw::ppp
