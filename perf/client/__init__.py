"""An L2TP/IPsec client written apart from the gateway: an L2TP LAC
(RFC 2661), a PPP client (RFC 1661, 1334, 1994, 2759, 1332, 1877, 3078,
3079), an IKEv1 initiator (RFC 2407, 2408, 2409, 3947) and the ESP
transport with static or negotiated keys (RFC 4303, 3948).

It is the gateway's end-to-end test peer, the demo's client and a load
generator; nothing here is shared with the gateway's C++ code. Run with
/usr/bin/python3 (scapy and python3-cryptography).

MPPE's key schedule and the ESP SA helpers come from the test tree's own
independent references (tests/pipeline/mppe_ref.py, esp.py), put on the path
here so that every module imports them the same way.
"""

import os
import sys

_PIPELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "pipeline")
if _PIPELINE not in sys.path:
    sys.path.append(os.path.normpath(_PIPELINE))
