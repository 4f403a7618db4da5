"""What the built-in clients of three systems offer in IKEv1, as the
initiator sends it: phase-1 transforms in order of preference, phase-2 ESP
transforms, lifetimes, vendor IDs (which NAT-T dialect) and the L2TP source
port. Proposals are written as strongSwan spells them:
"aes256-sha1-ecp384" (phase 1) and "aes256-sha256" (ESP)."""

import dataclasses
import random
from dataclasses import dataclass, field

from . import isakmp as i

P1_ENC = {"aes128": (7, 128), "aes256": (7, 256), "3des": (5, None), "des": (1, None)}
P1_HASH = {"md5": 1, "sha1": 2, "sha256": 4, "sha384": 5, "sha512": 6}
P1_GROUP = {"modp1024": 2, "modp2048": 14, "ecp256": 19, "ecp384": 20}
ESP_ENC = {"aes128": (12, 128), "aes256": (12, 256), "3des": (3, None), "des": (2, None)}
ESP_AUTH = {"md5": 1, "sha1": 2, "sha256": 5}
# The data plane's names (and perf/client/transport.py's) for what was chosen.
ESP_CIPHER_NAME = {(12, 128): "aes-cbc-128", (12, 256): "aes-cbc-256", (3, None): "3des-cbc"}
ESP_AUTH_NAME = {2: "hmac-sha1-96", 5: "hmac-sha256-128"}


@dataclass
class P1:
    enc: int
    key_bits: int
    hash: int
    group: int

    @classmethod
    def parse(cls, text):
        try:
            e, h, g = text.split("-")
            return cls(*P1_ENC[e], P1_HASH[h], P1_GROUP[g])
        except (ValueError, KeyError):
            raise ValueError(f"phase-1 proposal {text!r}: ENC-HASH-GROUP of {sorted(P1_ENC)}, "
                             f"{sorted(P1_HASH)}, {sorted(P1_GROUP)}") from None

    def name(self):
        enc = {7: f"aes{self.key_bits}", 5: "3des", 1: "des"}[self.enc]
        hname = {v: k for k, v in P1_HASH.items()}[self.hash]
        gname = {v: k for k, v in P1_GROUP.items()}[self.group]
        return f"{enc}-{hname}-{gname}"


@dataclass
class P2:
    enc: int
    key_bits: int
    auth: int

    @classmethod
    def parse(cls, text):
        try:
            e, a = text.split("-")
            return cls(*ESP_ENC[e], ESP_AUTH[a])
        except (ValueError, KeyError):
            raise ValueError(f"ESP proposal {text!r}: ENC-AUTH of {sorted(ESP_ENC)}, {sorted(ESP_AUTH)}") from None

    def name(self):
        enc = {12: f"aes{self.key_bits}", 3: "3des", 2: "des"}[self.enc]
        return f"{enc}-{ {v: k for k, v in ESP_AUTH.items()}[self.auth]}"


def p1_list(text):
    return [P1.parse(t.strip()) for t in text.split(",") if t.strip()]


def p2_list(text):
    return [P2.parse(t.strip()) for t in text.split(",") if t.strip()]


@dataclass
class Profile:
    name: str
    p1: list
    p1_life: int
    p2: list
    p2_life_s: int
    p2_life_kb: int
    vendor_ids: list
    natt: str                  # "rfc" (RFC 3947: payloads 20/21, modes 3/4) or "draft" (130/131, 61443/61444)
    l2tp_sport: int            # 0: a random port per connection
    initial_contact: bool = True
    id_proto_port: tuple = (17, 500)  # of IDii in Main Mode
    extra: dict = field(default_factory=dict)

    def sport(self):
        return self.l2tp_sport or random.randint(49152, 65535)


def _cross(encs, hashes, groups):
    return [P1.parse(f"{e}-{h}-{g}") for g in groups for e in encs for h in hashes]


PROFILES = {
    # Windows 10/11's built-in L2TP/IPsec client.
    "windows": Profile(
        name="windows",
        p1=p1_list("aes256-sha1-ecp384,aes128-sha1-ecp256,aes256-sha1-modp2048,3des-sha1-modp2048,"
                   "3des-sha1-modp1024"),
        p1_life=28800,
        p2=p2_list("aes256-sha1,aes128-sha1,3des-sha1"),
        p2_life_s=3600, p2_life_kb=250000,
        vendor_ids=[i.VID_MS_NT5, i.VID_RFC3947, i.VID_MS_NEGDISC],
        natt="rfc", l2tp_sport=1701, initial_contact=True, id_proto_port=(0, 0)),
    # macOS / iOS (racoon-derived configd): SHA2-256 first, the draft NAT-T.
    "macos": Profile(
        name="macos",
        p1=_cross(["aes256", "aes128"], ["sha256", "sha1"], ["modp2048"]) +
        _cross(["aes256", "aes128"], ["sha256", "sha1"], ["modp1024"]) +
        p1_list("3des-sha1-modp2048,3des-sha1-modp1024"),
        p1_life=3600,
        p2=p2_list("aes256-sha256,aes128-sha256,3des-sha256,aes256-sha1,aes128-sha1,3des-sha1"),
        p2_life_s=3600, p2_life_kb=0,
        vendor_ids=[i.VID_DRAFT_02, i.VID_DRAFT_02N, i.VID_DPD],
        natt="draft", l2tp_sport=0, initial_contact=True, id_proto_port=(17, 500)),
    # Android (racoon): MODP-1024 only.
    "android": Profile(
        name="android",
        p1=_cross(["aes256", "aes128", "3des"], ["sha256", "sha1"], ["modp1024"]),
        p1_life=28800,
        p2=p2_list("aes256-sha1,aes128-sha1,3des-sha1"),
        p2_life_s=3600, p2_life_kb=0,
        vendor_ids=[i.VID_RFC3947, i.VID_DRAFT_02N, i.VID_DPD],
        natt="rfc", l2tp_sport=1701, initial_contact=False, id_proto_port=(17, 500)),
}


def offer(name, ike_proposals=None, esp_proposals=None):
    """Profile `name` with its phase-1 or ESP proposals replaced where a
    list (strongSwan's spelling, comma-separated) is given."""
    prof = PROFILES[name]
    if ike_proposals:
        prof = dataclasses.replace(prof, p1=p1_list(ike_proposals))
    if esp_proposals:
        prof = dataclasses.replace(prof, p2=p2_list(esp_proposals))
    return prof
