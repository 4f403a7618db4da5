// The computations of MS-CHAPv2 (RFC 2759 §8) and CHAP with MD5 (RFC 1994
// §4.1), and the MPPE start keys that follow from an MS-CHAPv2 exchange
// (RFC 3079 §3.4, through dataplane/crypto/mppe). Pure functions: the
// authenticator in auth.h drives them.
#pragma once

#include <intel-ipsec-mb.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace l2tpgw::ppp {

using Hash16 = std::array<std::uint8_t, 16>;

// RFC 2759 §8.3 NtPasswordHash: MD4 of the password in UTF-16LE. The
// password is taken as UTF-8; a byte sequence that is not UTF-8 is taken as
// Latin-1, one byte per character.
Hash16 nt_password_hash(std::string_view password);

// RFC 2759 §8.4 HashNtPasswordHash.
Hash16 hash_nt_password_hash(const Hash16& password_hash) noexcept;

// RFC 2759 §8.2 ChallengeHash: SHA-1(PeerChallenge || AuthenticatorChallenge
// || UserName), first 8 bytes. `user` must already be stripped of a domain.
std::array<std::uint8_t, 8> challenge_hash(std::span<const std::uint8_t, 16> peer_challenge,
                                           std::span<const std::uint8_t, 16> auth_challenge,
                                           std::string_view user);

// RFC 2759 §8.5 ChallengeResponse: three DES encryptions of the challenge
// keyed with 7-byte slices of the zero-padded password hash.
std::array<std::uint8_t, 24> challenge_response(std::span<const std::uint8_t, 8> challenge,
                                                const Hash16& password_hash);

// RFC 2759 §8.1 GenerateNTResponse, from the password hash (what a server
// stores instead of the password when it can).
std::array<std::uint8_t, 24> generate_nt_response(std::span<const std::uint8_t, 16> auth_challenge,
                                                  std::span<const std::uint8_t, 16> peer_challenge,
                                                  std::string_view user,
                                                  const Hash16& password_hash);

// RFC 2759 §8.7 GenerateAuthenticatorResponse: "S=" and 40 upper-case hex
// digits.
std::string authenticator_response(const Hash16& password_hash,
                                   std::span<const std::uint8_t, 24> nt_response,
                                   std::span<const std::uint8_t, 16> peer_challenge,
                                   std::span<const std::uint8_t, 16> auth_challenge,
                                   std::string_view user);

// RFC 2759 §4: the user name in ChallengeHash excludes a prepended domain
// ("DOMAIN\user" → "user"); Windows sends one when the account has it.
std::string_view strip_domain(std::string_view user) noexcept;

// RFC 1994 §4.1: MD5(Identifier || secret || Challenge).
Hash16 chap_md5_response(std::uint8_t id, std::string_view secret,
                         std::span<const std::uint8_t> challenge);

// Both MPPE start keys of a session, as the server uses them (RFC 3079
// §3.4, IsServer = TRUE): send = ours (Magic3), recv = the client's (Magic2).
struct MppeStartKeys {
  Hash16 send{};
  Hash16 recv{};
};
MppeStartKeys server_mppe_keys(IMB_MGR* mgr, const Hash16& password_hash,
                               std::span<const std::uint8_t, 24> nt_response) noexcept;

// Equal contents in time that depends on the length only.
bool equal_ct(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;

}  // namespace l2tpgw::ppp
