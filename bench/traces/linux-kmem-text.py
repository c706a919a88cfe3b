#!/usr/bin/env python3
"""Writes N lines of Linux kmem page events (mm_page_alloc, mm_page_free) as tracefs prints them,
for measuring `sharpmm trace replay` on an imported trace without a Linux machine at hand.

The shape is a busy kernel's: up to 200,000 live blocks, 85% of allocations order 0, the rest of
orders 1, 2, 3 and 9; pfns spread over a 16 GiB machine; frees of random live blocks.

    python3 bench/traces/linux-kmem-text.py 4000000 1 > linux.txt
    ./sharpmm trace import linux.txt -o linux.trace
    ./sharpmm trace replay linux.trace --allocator buddy --json
"""
import random
import sys

def main():
    n = int(sys.argv[1])
    random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    live, used = [], set()
    t = 2509.0
    frames = 1 << 22
    out = sys.stdout
    out.write("# tracer: nop\n#\n")
    for _ in range(n):
        t += 0.000001
        if len(live) < 200000 and (random.random() < 0.55 or not live):
            order = 0 if random.random() < 0.85 else random.choice([1, 1, 2, 3, 9])
            while True:
                pfn = random.randrange(0, frames >> order) << order
                if pfn not in used:
                    break
            used.add(pfn)
            live.append((pfn, order))
            out.write(f"bash-2006 [001] .....  {t:.6f}: mm_page_alloc: page=0000000054d27668 pfn=0x{pfn:x} order={order} migratetype=0 gfp_flags=GFP_KERNEL\n")
        else:
            j = random.randrange(len(live))
            live[j], live[-1] = live[-1], live[j]
            pfn, order = live.pop()
            used.discard(pfn)
            out.write(f"gcc-2008 [000] ...2.  {t:.6f}: mm_page_free: page=00000000fc213ce2 pfn=0x{pfn:x} order={order}\n")

if __name__ == "__main__":
    main()
