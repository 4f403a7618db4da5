"""Classic libpcap files, read and written without scapy so the bytes the
tests compare are exactly the bytes in the file."""

import struct

LINKTYPE_ETHERNET = 1
LINKTYPE_IPV4 = 228

_MAGIC_US = 0xA1B2C3D4
_MAGIC_NS = 0xA1B23C4D


def write_pcap(path, frames, linktype=LINKTYPE_ETHERNET, snaplen=65535):
    """Writes frames (bytes) with microsecond timestamps one microsecond apart.
    An empty list gives a valid file with no packets, which net_pcap needs."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", _MAGIC_US, 2, 4, 0, 0, snaplen, linktype))
        for i, frame in enumerate(frames):
            frame = bytes(frame)
            f.write(struct.pack("<IIII", 1_000_000 + i // 1_000_000, i % 1_000_000,
                                len(frame), len(frame)))
            f.write(frame)


def read_pcap(path):
    """Returns (linktype, [frame bytes]); accepts either byte order and
    microsecond or nanosecond files. A truncated record is an error: it would
    hide a writer that was not flushed."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: {len(data)} bytes, no pcap header")
    for endian in ("<", ">"):
        (magic,) = struct.unpack(endian + "I", data[:4])
        if magic in (_MAGIC_US, _MAGIC_NS):
            break
    else:
        raise ValueError(f"{path}: not a pcap file (magic {data[:4].hex()})")
    _, _, _, _, _, linktype = struct.unpack(endian + "HHiIII", data[4:24])
    frames = []
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError(f"{path}: truncated record header at offset {off}")
        _, _, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            raise ValueError(f"{path}: truncated record at offset {off}")
        if incl != orig:
            raise ValueError(f"{path}: record captured {incl} of {orig} bytes")
        frames.append(data[off:off + incl])
        off += incl
    return linktype & 0xFFFF, frames
