#!/usr/bin/python3
"""L2TP/IPsec client for l2tpgw's end-to-end tests and demo: opens an L2TP
tunnel and session (RFC 2661), brings PPP up with PAP, CHAP-MD5 or
MS-CHAPv2 and optionally MPPE, optionally pings through the tunnel, then
hangs up cleanly (LCP Terminate, CDN, StopCCN).

One line per step, then a JSON summary as the last line. Exit code 0 when
every requested step worked, 1 otherwise (the summary's "failure" says why).

    l2tp_client.py --server 198.51.100.1 --local 198.51.100.7 --user alice \\
        --password secret --auth mschapv2 --mppe 128 --stateless \\
        --esp-config sa.json --ping 10.0.0.2 --count 5

Without --esp-config or --ike the L2TP datagrams go in plain UDP (a
trusted LAC); with --esp-config, in ESP with the static SAs the JSON file
gives (client/transport.py EspConfig documents its fields); with
--ike psk, IKEv1 (Main Mode with the pre-shared key, Quick Mode) negotiates
the ESP SA pair first, as the named system's built-in client would offer it
(client/profiles.py), and hang-up ends with Deletes for both SAs:

    l2tp_client.py --server 198.51.100.1 --local 192.168.1.7 --user alice \\
        --password secret --ike psk --psk 'shared key' --profile windows

With --ike rsa, Main Mode authenticates with RSA signatures and X.509
certificates instead (RFC 2409 §5.1): our certificate and key, the CAs
the gateway's certificate must chain to, and our ID (the certificate's
subject DN unless --id says otherwise):

    l2tp_client.py ... --ike rsa --cert client.pem --key client.key --ca ca.pem

Behind a NAT, once floated to UDP 4500, the client sends a NAT-T
keepalive (RFC 3948 §2.3) every --natt-keepalive seconds (20 as Windows).

Once connected, the IKE side answers R-U-THERE (RFC 3706) when the profile
announced DPD. Faults for the gateway's tests: --vanish-after (silence, no
hang-up), --corrupt-esp (damaged ICVs), --rekey-after and --rekey-p1-after
(a new phase 2, or phase 1 and 2, under pings).
"""

import argparse
import dataclasses
import json
import os
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import l2tp as w  # noqa: E402
from client.ppp import Profile  # noqa: E402
from client.ppp_wire import describe  # noqa: E402
from client.ike import Initiator, connect_esp  # noqa: E402
from client.ike_cert import CertAuth  # noqa: E402
from client.profiles import PROFILES, offer  # noqa: E402
from client.session import Client  # noqa: E402
from client.transport import EspConfig, EspTransport, UdpTransport  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, help="the LNS's address")
    ap.add_argument("--local", required=True, help="our address (the socket binds to it)")
    ap.add_argument("--sport", type=int,
                    help="our L2TP UDP port (default 1701; with --ike, the profile's: random for macos)")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--auth", default="mschapv2",
                    help="comma-separated acceptable methods, preferred first: mschapv2, chap, pap")
    ap.add_argument("--mppe", choices=("none", "40", "128", "any"), default="none",
                    help="MPPE strength to offer (any: 128 and 40)")
    ap.add_argument("--stateless", action="store_true", help="ask for stateless MPPE")
    ap.add_argument("--secret", help="L2TP tunnel secret (Challenge/Response, hidden AVPs)")
    ap.add_argument("--hide", action="store_true", help="hide the session's AVPs with the secret (RFC 2661 §4.3)")
    ap.add_argument("--sequencing", action="store_true", help="send Sequencing Required in ICCN")
    ap.add_argument("--no-compress", action="store_true", help="do not ask for ACFC and PFC")
    ap.add_argument("--esp-config", help="JSON file with the static ESP SAs")
    ap.add_argument("--ike", choices=("psk", "rsa"),
                    help="negotiate the ESP SAs with IKEv1 (pre-shared key, or RSA signatures and certificates)")
    ap.add_argument("--psk", help="the IKE pre-shared key")
    ap.add_argument("--cert", help="with --ike rsa: our certificate, then any intermediates (PEM)")
    ap.add_argument("--key", help="with --ike rsa: the certificate's RSA key (PEM, unencrypted)")
    ap.add_argument("--ca", help="with --ike rsa: the CAs the gateway's certificate must chain to (PEM)")
    ap.add_argument("--id", default="dn",
                    help="with --ike rsa: our phase-1 ID: dn (the certificate's subject), fqdn:NAME or ip")
    ap.add_argument("--natt-keepalive", type=float, default=20.0, metavar="SECONDS",
                    help="behind a NAT: seconds between NAT-T keepalives to UDP 4500 (0: none)")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="windows",
                    help="whose built-in client to imitate in IKE (proposals, vendor IDs, L2TP source port)")
    ap.add_argument("--ike-proposals", help="phase-1 offer instead of the profile's, e.g. aes256-sha1-modp2048,...")
    ap.add_argument("--esp-proposals", help="phase-2 offer instead of the profile's, e.g. aes128-sha256,...")
    ap.add_argument("--no-natt", action="store_true", help="do not announce NAT traversal")
    ap.add_argument("--ike-retransmit", type=float, default=2.0, help="seconds before the first IKE retransmit")
    ap.add_argument("--ping", help="host to ping through the tunnel")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to bring the link up")
    ap.add_argument("--hold", type=float, default=0.0, help="seconds to stay connected before hanging up")
    ap.add_argument("--hold-stdin", action="store_true",
                    help="stay connected (answering pings) until a line or end of file on standard input")
    ap.add_argument("--vanish-after", type=float, metavar="SECONDS",
                    help="once connected (and pinged), stay up SECONDS, then stop sending and answering "
                         "anything, without any hang-up; exit after --vanish-for or, with --hold-stdin, "
                         "a line on standard input")
    ap.add_argument("--vanish-for", type=float, default=60.0, help="seconds of silence before exiting")
    ap.add_argument("--corrupt-esp", type=int, default=0, metavar="N",
                    help="once connected, damage the ICV of the next N ESP packets we send")
    ap.add_argument("--rekey-after", type=int, metavar="N",
                    help="with --ike and --ping: before echo number N, run a second Quick Mode on the same "
                         "ISAKMP SA, send on the new pair, then Delete the old one")
    ap.add_argument("--rekey-p1-after", type=int, metavar="N",
                    help="with --ike and --ping, without NAT: before echo number N, run a new Main Mode "
                         "(no INITIAL-CONTACT) and a Quick Mode on it, send on the new pair, then Delete the "
                         "old IPsec SA and the old ISAKMP SA")
    ap.add_argument("--trace", action="store_true",
                    help="print every L2TP control message with its AVPs and every PPP control packet")
    args = ap.parse_args(argv)
    if args.ike and args.esp_config:
        ap.error("--ike and --esp-config exclude each other")
    if args.ike == "psk" and not args.psk:
        ap.error("--ike psk needs --psk")
    if args.ike == "rsa" and not (args.cert and args.key and args.ca):
        ap.error("--ike rsa needs --cert, --key and --ca")
    if args.ike == "rsa":
        try:
            args.auth_ike = CertAuth(args.cert, args.key, args.ca, args.id)
        except (OSError, ValueError) as e:
            ap.error(f"--ike rsa: {e}")
    else:
        args.auth_ike = args.psk
    if args.corrupt_esp and not (args.ike or args.esp_config):
        ap.error("--corrupt-esp needs ESP (--ike or --esp-config)")
    if args.rekey_after is not None and not (args.ike and args.ping):
        ap.error("--rekey-after needs --ike and --ping")
    if args.rekey_p1_after is not None and not (args.ike and args.ping):
        ap.error("--rekey-p1-after needs --ike and --ping")
    args.auth = [a.strip() for a in args.auth.split(",")]
    bad = [a for a in args.auth if a not in ("mschapv2", "chap", "pap")]
    if bad:
        ap.error(f"--auth: unknown {bad}")
    return args


def log(line):
    print(line, flush=True)


def start_ike(args):
    """IKE first; returns (initiator, transport) or (initiator, None) when it failed."""
    prof = offer(args.profile, args.ike_proposals, args.esp_proposals)
    return connect_esp(args.local, args.server, args.auth_ike, prof, sport=args.sport, log=log,
                       retransmit=args.ike_retransmit, natt=not args.no_natt, natt_keepalive=args.natt_keepalive)


def rekey(ike, transport):
    """Phase 2 again under traffic: the new pair carries what we send at
    once, the old one is deleted right after (RFC 2408 §3.15) and its
    inbound SA kept until the pings end, for what was already in flight."""
    old = ike.rekey()
    if old is None:
        return None
    transport.rekeyed(EspConfig(ike.esp))
    ike.delete_ipsec(old[0])
    return old


def rekey_phase1(args, ike, client, transport):
    """Phase 1 again: a second ISAKMP SA from the same port 500 (cookies
    tell them apart), a Quick Mode on it, then the old IPsec SA and the old
    ISAKMP SA deleted through the old one (RFC 2408 §3.15). Returns the
    new initiator, or None (the old one stays)."""
    if ike.floated:
        log("IKE: phase-1 rekey behind a NAT is not implemented here")
        return None
    prof = dataclasses.replace(ike.profile, initial_contact=False)
    log("IKE: rekeying phase 1")
    new = Initiator(args.local, args.server, args.auth_ike, prof, l2tp_sport=ike.l2tp_sport, log=log,
                    retransmit=args.ike_retransmit, natt=not args.no_natt, sock500=ike.sock500,
                    natt_keepalive=args.natt_keepalive)
    if not new.connect():
        return None
    transport.rekeyed(EspConfig(new.esp))
    transport.on_ike = new.handle
    client.on_poll = new.poll
    ike.hang_up()
    new.own_sock500, ike.own_sock500 = ike.own_sock500, False
    return new


def main(argv=None):
    args = parse_args(argv)
    ike = None
    t0 = time.monotonic()
    if args.ike:
        ike, transport = start_ike(args)
        if transport is None:
            ike.hang_up()  # Main Mode may have succeeded: its SA is deleted, as real clients do
            ike.close()
            print(json.dumps({"reached": "ike", "ike": ike.summary(), "failure": ike.failure, "ok": False}))
            return 1
    elif args.esp_config:
        transport = EspTransport(args.local, args.server, EspConfig.load(args.esp_config), sport=args.sport or 1701)
    else:
        transport = UdpTransport(args.local, args.server, sport=args.sport or 1701)
    profile = Profile(user=args.user, password=args.password, auth=args.auth, mppe=args.mppe,
                      stateless=args.stateless, compress=not args.no_compress)

    def trace(direction, msg):
        print(f"  {direction} {msg.name} (Ns {msg.header.ns}, Nr {msg.header.nr}): {w.describe_avps(msg.avps)}",
              flush=True)

    def ppp_trace(direction, proto, info):
        print(f"  PPP {direction} {describe(proto, info)}", flush=True)

    client = Client(transport, profile, secret=args.secret, sequencing=args.sequencing, log=log, hide=args.hide,
                    trace=trace if args.trace else None, ppp_trace=ppp_trace if args.trace else None)
    if ike is not None:
        client.on_poll = ike.poll
    t1 = time.monotonic()
    ok = client.connect(args.timeout)
    t_l2tp = round(time.monotonic() - t1, 3)
    if ok and args.corrupt_esp:
        transport.corrupt_next = args.corrupt_esp
        log(f"ESP: damaging the ICV of the next {args.corrupt_esp} packets we send")
    rekeyed = []
    p1 = []
    before = None
    if ok and (args.rekey_after is not None or args.rekey_p1_after is not None):
        def before(seq):
            if seq == args.rekey_after:
                old = rekey(p1[-1] if p1 else ike, transport)
                if old is not None:
                    rekeyed.append(old)
            if seq == args.rekey_p1_after:
                cur = p1[-1] if p1 else ike
                new = rekey_phase1(args, cur, client, transport)
                if new is not None:
                    rekeyed.append((cur.spi_in, cur.spi_out, cur.esp))
                    p1.append(new)
    if ok and args.ping:
        got = client.ping(args.ping, args.count, before=before)
        # What we damaged on purpose may have been echoes: those are lost, not failures.
        got = min(args.count, got + getattr(transport, "corrupted", 0))
        for old in rekeyed:
            transport.retire(int.from_bytes(old[0], "big"))
        wanted = (args.rekey_after is not None) + (args.rekey_p1_after is not None)
        if len(rekeyed) < wanted and client.lac.failure is None:
            client.lac.failure = (p1[-1] if p1 else ike).failure or "the rekey did not happen"
        if p1:
            ike.close()
            summary_p1 = {"old_cookies": f"{ike.icookie.hex()}:{ike.rcookie.hex()}"}
            ike = p1[-1]
            ike.rekeyed_from = summary_p1
        ok = got == args.count
        if not ok and client.failure() is None:
            client.lac.failure = client.lac.failure or f"{args.count - got} of {args.count} pings unanswered"
    if ok and args.hold > 0:
        client.run_until(lambda: client.failure() is not None, args.hold)
        ok = client.failure() is None
    if ok and args.vanish_after is not None:
        client.run_until(lambda: client.failure() is not None, args.vanish_after)
        ok = client.failure() is None
        if ok:
            return vanish(args, client, ike, transport, t0)
    if ok and args.hold_stdin:
        log("holding the connection until standard input has a line")
        client.run_until(lambda: client.failure() is not None or select.select([sys.stdin], [], [], 0)[0],
                         float("inf"))
        ok = client.failure() is None
    clean = client.disconnect()
    summary = client.summary()
    summary["clean_disconnect"] = clean
    if ok and not clean:
        summary["failure"] = summary["failure"] or "the tunnel did not close cleanly"
        ok = False
    if ike is not None:
        ike.hang_up()
        ike.close()
        summary["ike"] = ike.summary()
        if getattr(ike, "rekeyed_from", None):
            summary["ike"]["rekeyed_from"] = ike.rekeyed_from
        if summary["failure"] is None and ike.failure:
            summary["failure"] = ike.failure
    summary["setup_s"] = {"l2tp_ppp": t_l2tp} | ({"main_mode": ike.times.get("main_mode_s"),
                                                   "quick_mode": ike.times.get("quick_mode_s")} if ike else {})
    summary["total_s"] = round(time.monotonic() - t0, 3)
    summary["ok"] = ok
    add_esp_summary(summary, transport, rekeyed)
    transport.close()
    print(json.dumps(summary))
    return 0 if ok else 1


def add_esp_summary(summary, transport, rekeyed=()):
    if isinstance(transport, EspTransport):
        summary["esp_corrupted"] = transport.corrupted
        summary["esp_send_errors"] = transport.send_errors
        summary["esp_received_by_spi"] = {f"0x{k:08x}": v for k, v in transport.received_by_spi.items()}
        if rekeyed:
            summary["rekeyed_from"] = [{"spi_in": f"0x{o[0].hex()}", "spi_out": f"0x{o[1].hex()}"} for o in rekeyed]


def vanish(args, client, ike, transport, t0):
    """Silence without a goodbye: sockets stay open (so the kernel sends no
    ICMP unreachable) but nothing is read or answered, then exit."""
    summary = client.summary()
    if ike is not None:
        ike.vanish()
        summary["ike"] = ike.summary()
    log(f"vanishing: no more packets, no hang-up ({'until a line on standard input' if args.hold_stdin else f'{args.vanish_for} s'})")
    if args.hold_stdin:
        select.select([sys.stdin], [], [], args.vanish_for)
    else:
        time.sleep(args.vanish_for)
    summary["vanished"] = True
    summary["total_s"] = round(time.monotonic() - t0, 3)
    summary["ok"] = True
    add_esp_summary(summary, transport)
    print(json.dumps(summary), flush=True)
    os._exit(0)  # no close, no Delete, no StopCCN on the way out


if __name__ == "__main__":
    sys.exit(main())
