"""MPPE (RFC 3078) for the client: the sender is mppe_ref.Sender (key
change per frame stateless, at flag frames and after a Reset-Request
stateful); the receiver here tolerates loss, which mppe_ref.Receiver (a
checker of a lossless stream) refuses on purpose.

Receiver rules:
- stateless (§7.1): every frame is flushed; the sender changed key once per
  coherency count, so a jump of n counts means n key changes.
- stateful (§7.2, §8): in order, the key changes at each flag frame (low
  count octet 0xFF). A gap means lost frames and an RC4 state we cannot
  follow: send a CCP Reset-Request and discard until a flushed (A) frame;
  the sender changed key at every flag frame we missed and once more for
  that flushed frame. (A flushed frame lost inside the gap cannot be
  counted; the next Reset-Request, sent while discarding, recovers.)
"""

import mppe_ref

CCOUNT_SPACE = mppe_ref.CCOUNT_SPACE
Sender = mppe_ref.Sender
RESEND_RESET_EVERY = 64  # discarded frames between repeated Reset-Requests


class MppeError(Exception):
    pass


class Receiver:
    def __init__(self, start_key, bits, stateless, send_reset_request):
        self._dir = mppe_ref._Direction(start_key, bits, stateless)
        self.stateless = stateless
        self.send_reset_request = send_reset_request
        self.discarding = False
        self.discarded = 0
        self.resets_sent = 0
        self.lost = 0
        self._seen = self._dir.ccount

    def _reset(self):
        self.resets_sent += 1
        self.send_reset_request()

    def frame(self, data):
        """Inner protocol + data of one MPPE frame, or None when discarded."""
        if len(data) < 3:
            raise MppeError(f"MPPE frame of {len(data)} bytes")
        a, b, c, d, ccount = mppe_ref.header(data)
        if not d or c:
            raise MppeError(f"MPPE header bits D={d} C={c}: not an encrypted, uncompressed frame")
        d_ = self._dir
        # d_.ccount is the last count whose key state we follow; _seen the
        # last count received (they differ only while discarding).
        gap = (ccount - self._seen) % CCOUNT_SPACE
        if gap == 0 or gap >= CCOUNT_SPACE // 2:
            raise MppeError(f"coherency count {ccount} repeats or goes back from {self._seen}")
        self._seen = ccount
        if self.stateless:
            if not a:
                raise MppeError(f"stateless frame {ccount} without the flushed bit")
            for _ in range(gap):
                d_.change_key()
            self.lost += gap - 1
        elif gap == 1 and not self.discarding:
            if mppe_ref.is_flag(ccount) or a:
                d_.change_key()
        else:
            self.lost += gap - 1
            if not self.discarding:
                self.discarding = True
                self._reset()
            if not a:
                self.discarded += 1
                if self.discarded % RESEND_RESET_EVERY == 0:
                    self._reset()
                return None
            span = (ccount - d_.ccount) % CCOUNT_SPACE
            flags_missed = sum(1 for k in range(1, span) if mppe_ref.is_flag((d_.ccount + k) % CCOUNT_SPACE))
            for _ in range(flags_missed + 1):
                d_.change_key()
            self.discarding = False
        d_.ccount = ccount
        return d_.rc4.update(bytes(data[2:]))
