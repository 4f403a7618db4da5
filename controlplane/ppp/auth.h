// The authenticator side of PAP (RFC 1334 §2), CHAP with MD5 (RFC 1994)
// and MS-CHAPv2 (RFC 2759) against the local user database. One exchange
// per session: it starts when LCP opens with the protocol LCP agreed, sends
// and retransmits the Challenge, checks the answer in constant time and
// answers Success or Failure. Passwords never appear in any output.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "controlplane/ppp/fsm.h"
#include "controlplane/ppp/mschapv2.h"
#include "controlplane/ppp/random.h"
#include "controlplane/ppp/settings.h"
#include "controlplane/ppp/users.h"

namespace l2tpgw::ppp {

enum class AuthOutcome : std::uint8_t {
  pending,
  success,
  unknown_user,
  wrong_password,
  protocol_not_allowed,
  timeout,
};
const char* describe(AuthOutcome o) noexcept;  // "unknown user", "wrong password", ...

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::pending;
  AuthProto proto = AuthProto::mschapv2;
  std::string user;  // as the client named itself (domain stripped)
  const User* record = nullptr;
  // MS-CHAPv2 only: what RFC 3079 §3.4 derives the MPPE keys from.
  bool have_mppe_material = false;
  Hash16 password_hash{};
  std::array<std::uint8_t, 24> nt_response{};

  // One line for the operator, e.g. "authentication failed for user bob:
  // wrong password (MS-CHAPv2)".
  std::string cause() const;
};

class Authenticator {
 public:
  Authenticator(const PppSettings& settings, const UserDb& users, Random& random, Outbox& out,
                Counters& counters);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  void start(Time now, AuthProto proto);
  // A frame of protocol PAP or CHAP, after the Protocol field.
  void input(Time now, std::uint16_t protocol, std::span<const std::uint8_t> packet);
  void tick(Time now);
  std::optional<Time> deadline() const noexcept { return _deadline; }

  // RFC 2661 §4.4.5 proxy authentication: checks what the LAC relayed (for
  // CHAP the Identifier, Challenge and Response; for PAP the password in
  // `response`) without sending anything. MS-CHAPv2 has no proxy form.
  void check_proxy(AuthProto proto, std::string_view name, std::span<const std::uint8_t> challenge,
                   std::uint8_t id, std::span<const std::uint8_t> response);

  // A control-plane restart: the exchange succeeded in the previous life.
  // Nothing it derived keys from is kept; the record is looked up again.
  void restore(AuthProto proto, const std::string& user);

  bool started() const noexcept { return _started; }
  bool done() const noexcept { return _result.outcome != AuthOutcome::pending; }
  const AuthResult& result() const noexcept { return _result; }

 private:
  void send_challenge(Time now);
  void pap_input(const Packet& p);
  void chap_input(const Packet& p);
  void chap_md5_check(const Packet& p, std::span<const std::uint8_t> value, std::string_view name);
  void mschapv2_check(const Packet& p, std::span<const std::uint8_t> value, std::string_view name);
  void finish(AuthOutcome o);

  const PppSettings& _settings;
  const UserDb& _users;
  Random& _random;
  Outbox& _out;
  Counters& _counters;
  bool _started = false;
  AuthProto _proto = AuthProto::mschapv2;
  std::optional<Time> _deadline;
  unsigned _tries = 0;
  std::uint8_t _id = 0;
  std::array<std::uint8_t, 16> _challenge{};
  // The answer we gave, resent when the client repeats its packet (its copy
  // of our answer may have been lost: RFC 1994 §4.2, RFC 1334 §2.2.2).
  std::uint16_t _reply_protocol = 0;
  Bytes _reply;
  AuthResult _result;
};

}  // namespace l2tpgw::ppp
