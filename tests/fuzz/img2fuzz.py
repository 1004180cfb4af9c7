#!/usr/bin/env python3
"""img2fuzz.py --- a raw image as a compact sparse fuzz input (tests/fuzz/common/fuzz.h).

    img2fuzz.py IMAGE OUT

u32 device size in sectors, then one record per run of non-zero 512-byte
sectors: u32 first sector, u16 sectors, the data. Images over 256 MiB are
refused (FZ_IMAGE_MAX_SECTORS).
"""
import struct
import sys

def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, 'rb') as f:
        img = f.read()
    sectors = len(img) // 512
    if sectors > 1 << 19:
        sys.exit('img2fuzz: %s: %d sectors, at most 524288' % (src, sectors))
    out = [struct.pack('<I', sectors)]
    zero = bytes(512)
    s = 0
    while s < sectors:
        if img[s * 512:(s + 1) * 512] == zero:
            s += 1
            continue
        e = s
        while e < sectors and e - s < 0xffff and img[e * 512:(e + 1) * 512] != zero:
            e += 1
        out.append(struct.pack('<IH', s, e - s) + img[s * 512:e * 512])
        s = e
    with open(dst, 'wb') as f:
        f.write(b''.join(out))

main()
